package identity

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/store"
)

// memUserRecords adds Delete to memRecords.
type memUserRecords struct{ *memRecords }

func (m memUserRecords) Delete(_ context.Context, key string, rev uint64) error {
	e, ok := m.data[key]
	if !ok {
		return store.ErrNotFound
	}
	if e.Revision != rev {
		return store.ErrConflict
	}
	delete(m.data, key)
	return nil
}

func TestUsers(t *testing.T) {
	ctx := context.Background()
	recs := memUserRecords{newMem()}
	users, err := NewUsers(ctx, recs)
	if err != nil {
		t.Fatal(err)
	}
	pw, u, err := users.Add(ctx, "alice", RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(pw.Reveal(), UserPrefix) || u.Role != RoleOperator {
		t.Fatalf("Add = %q, %+v", pw.Reveal()[:7], u)
	}
	if strings.Contains(string(recs.data["alice"].Value), pw.Reveal()) {
		t.Fatal("the password is stored in clear")
	}
	for _, tc := range []struct {
		name, pw string
		ok       bool
	}{
		{"alice", pw.Reveal(), true},
		{"alice", pw.Reveal() + "x", false},
		{"alice", "", false},
		{"bob", pw.Reveal(), false},
		{"", pw.Reveal(), false},
	} {
		role, ok := users.Check(tc.name, tc.pw)
		if ok != tc.ok || (ok && role != RoleOperator) {
			t.Errorf("Check(%q, …) = %q, %v; want ok=%v", tc.name, role, ok, tc.ok)
		}
	}
	for _, tc := range []struct{ name, role string }{
		{"Alice", RoleViewer}, {"admin", RoleViewer}, {"", RoleViewer}, {"carol", "admin"}, {"carol", ""},
	} {
		if _, _, err := users.Add(ctx, tc.name, tc.role); !errors.Is(err, ErrInvalidUser) {
			t.Errorf("Add(%q, %q) = %v, want ErrInvalidUser", tc.name, tc.role, err)
		}
	}
	if _, _, err := users.Add(ctx, "alice", RoleViewer); !errors.Is(err, ErrUserExists) {
		t.Errorf("Add of an existing name = %v", err)
	}
	// A second node sees the users stored.
	other, err := NewUsers(ctx, recs)
	if err != nil {
		t.Fatal(err)
	}
	if role, ok := other.Check("alice", pw.Reveal()); !ok || role != RoleOperator {
		t.Errorf("another node: Check = %q, %v", role, ok)
	}
	if list := users.List(); len(list) != 1 || list[0].Name != "alice" || list[0].Hash != (PassHash{}) {
		t.Errorf("List = %+v", list)
	}
	// A new role keeps the password and the creation time, here and on
	// a node that reads the store afterwards.
	if v, err := users.SetRole(ctx, "alice", RoleViewer); err != nil || v.Role != RoleViewer || v.Hash != (PassHash{}) || !v.CreatedAt.Equal(u.CreatedAt) {
		t.Fatalf("SetRole = %+v, %v", v, err)
	}
	later, err := NewUsers(ctx, recs) // a node started after the change
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []*Users{users, later} {
		if role, ok := n.Check("alice", pw.Reveal()); !ok || role != RoleViewer {
			t.Errorf("after SetRole: Check = %q, %v", role, ok)
		}
	}
	if _, err := users.SetRole(ctx, "alice", "admin"); !errors.Is(err, ErrInvalidUser) {
		t.Errorf("SetRole to admin = %v, want ErrInvalidUser", err)
	}
	if _, err := users.SetRole(ctx, "bob", RoleViewer); !errors.Is(err, ErrUserNotFound) {
		t.Errorf("SetRole of an unknown user = %v, want ErrUserNotFound", err)
	}
	if err := users.Remove(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, ok := users.User("alice"); ok {
		t.Error("a removed user is still there")
	}
	if _, ok := users.Check("alice", pw.Reveal()); ok {
		t.Error("a removed user signs in")
	}
	if err := users.Remove(ctx, "alice"); !errors.Is(err, ErrUserNotFound) {
		t.Errorf("Remove twice = %v", err)
	}
}

// BenchmarkUserCheck is the cost of one console sign-in's hash:
// go test -run '^$' -bench UserCheck -benchmem ./internal/identity/
func BenchmarkUserCheck(b *testing.B) {
	ctx := context.Background()
	users, err := NewUsers(ctx, memUserRecords{newMem()})
	if err != nil {
		b.Fatal(err)
	}
	pw, _, err := users.Add(ctx, "alice", RoleViewer)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, ok := users.Check("alice", pw.Reveal()); !ok {
			b.Fatal("not signed in")
		}
	}
}

// TestResetPassword: a reset keeps the role, ends the old password, and
// records when, so that sessions of the old one can be told apart.
func TestResetPassword(t *testing.T) {
	ctx := context.Background()
	users, err := NewUsers(ctx, memUserRecords{newMem()})
	if err != nil {
		t.Fatal(err)
	}
	old, _, err := users.Add(ctx, "alice", RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	next, u, err := users.ResetPassword(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != RoleOperator || u.PasswordSetAt.IsZero() || u.Hash != (PassHash{}) {
		t.Errorf("after the reset: %+v, want the role kept, the time set and no hash", u)
	}
	if _, ok := users.Check("alice", old.Reveal()); ok {
		t.Error("the old password still signs in")
	}
	if role, ok := users.Check("alice", next.Reveal()); !ok || role != RoleOperator {
		t.Errorf("the new password: %q, %v", role, ok)
	}
	if _, _, err := users.ResetPassword(ctx, "bob"); !errors.Is(err, ErrUserNotFound) {
		t.Errorf("an unknown user: %v", err)
	}
}

// An unknown name is checked against a dummy hash, which must cost what a
// real one does: the same parameters and lengths, so that the time of a
// refusal does not tell whether the user exists.
func TestDummyHashCostsWhatARealOneDoes(t *testing.T) {
	genuine, dummy := hashPassword("correct horse"), dummyHash()
	decode := func(s string) []byte {
		b, err := base64.RawStdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if dummy.Time != genuine.Time || dummy.Memory != genuine.Memory || dummy.Threads != genuine.Threads {
		t.Errorf("dummy parameters %d/%d/%d, real %d/%d/%d", dummy.Time, dummy.Memory, dummy.Threads, genuine.Time, genuine.Memory, genuine.Threads)
	}
	if len(decode(dummy.Salt)) != len(decode(genuine.Salt)) || len(decode(dummy.Hash)) != len(decode(genuine.Hash)) {
		t.Errorf("dummy salt and sum of %d and %d bytes, real %d and %d",
			len(decode(dummy.Salt)), len(decode(dummy.Hash)), len(decode(genuine.Salt)), len(decode(genuine.Hash)))
	}
	for _, pw := range []string{"", "correct horse", string(newSecret(UserPrefix))} {
		if dummy.matches(pw) {
			t.Errorf("the dummy hash matches %q", pw)
		}
	}
	if other := dummyHash(); other.Salt == dummy.Salt || other.Hash == dummy.Hash {
		t.Error("two dummy hashes are the same")
	}
}
