package secrets_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/secret"
	"github.com/pave-dev/pave/internal/secrets"
)

func TestLoadOrCreateMasterKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key")
	k1, created, err := secrets.LoadOrCreateMasterKey(path)
	if err != nil || !created {
		t.Fatalf("first use: created %v, %v", created, err)
	}
	info, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %04o, want 0600", info.Mode().Perm())
	}
	k2, created, err := secrets.LoadOrCreateMasterKey(path)
	if err != nil || created || k2.ID() != k1.ID() {
		t.Fatalf("second use: created %v, id %s vs %s, %v", created, k2.ID(), k1.ID(), err)
	}
	// The file holds the key in the form ParseMasterKey reads, and the ID
	// is the first 8 bytes of its SHA-256.
	b, _ := os.ReadFile(path)
	k3, err := secrets.ParseMasterKey(string(b))
	if err != nil || k3.ID() != k1.ID() {
		t.Fatalf("ParseMasterKey of the file: %v", err)
	}
	if len(k1.ID()) != 16 {
		t.Fatalf("ID %q is not 8 bytes of hex", k1.ID())
	}
	// A store sealed with the created key opens with the loaded one.
	recs := newMemRecords()
	v := canary()
	if _, err := secrets.NewStore(recs, k1, nil).Set(context.Background(), "x", secret.Value(v)); err != nil {
		t.Fatal(err)
	}
	if got, _, err := secrets.NewStore(recs, k2, nil).Get(context.Background(), "x", 0); err != nil || got.Reveal() != v {
		t.Fatalf("reading with the reloaded key: %v", err)
	}
	// Two files, two keys.
	other, _, err := secrets.LoadOrCreateMasterKey(filepath.Join(dir, "other.key"))
	if err != nil || other.ID() == k1.ID() {
		t.Fatalf("second file: %v", err)
	}
}

func TestLoadMasterKeyRefusals(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("permission bits and symbolic links differ on Windows")
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.key")
	if _, _, err := secrets.LoadOrCreateMasterKey(good); err != nil {
		t.Fatal(err)
	}
	keyText, _ := os.ReadFile(good)

	write := func(name string, content []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, content, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		return p
	}
	link := filepath.Join(dir, "link.key")
	if err := os.Symlink(good, link); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(dir, "dangling.key")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), dangling); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub.key")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	garbage := "not a key: " + canary()
	for _, tt := range []struct {
		name, path, want string
	}{
		{"world readable", write("0644.key", keyText, 0o644), "chmod 600"},
		{"group readable", write("0640.key", keyText, 0o640), "chmod 600"},
		{"group writable", write("0620.key", keyText, 0o620), "chmod 600"},
		{"other executable", write("0601.key", keyText, 0o601), "chmod 600"},
		{"symbolic link to a good key", link, "symbolic link"},
		{"dangling symbolic link", dangling, "symbolic link"},
		{"directory", sub, "not a regular file"},
		{"empty", write("empty.key", nil, 0o600), "empty"},
		{"garbage", write("garbage.key", []byte(garbage), 0o600), "not base64"},
		{"short key", write("short.key", []byte(base64.StdEncoding.EncodeToString(randomBytes(t, 16))), 0o600), "32 bytes"},
		{"zero key", write("zero.key", []byte(base64.StdEncoding.EncodeToString(make([]byte, 32))), 0o600), "all zero"},
		{"too long", write("long.key", bytes.Repeat([]byte("A"), 4096), 0o600), "longer"},
		{"missing directory", filepath.Join(dir, "no", "such", "dir", "k"), "no such file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := os.Lstat(tt.path)
			k, created, err := secrets.LoadOrCreateMasterKey(tt.path)
			if err == nil || k != nil || created {
				t.Fatalf("accepted: created %v, %v", created, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not say %q", err, tt.want)
			}
			if strings.Contains(err.Error(), garbage) || strings.Contains(err.Error(), strings.TrimSpace(string(keyText))) {
				t.Fatalf("error %q quotes the file", err)
			}
			// A refused path is left as it was.
			after, _ := os.Lstat(tt.path)
			if (before == nil) != (after == nil) || (before != nil && (before.Mode() != after.Mode() || before.Size() != after.Size())) {
				t.Fatal("the refused path was changed")
			}
		})
	}
	// A link is refused even though its target is accepted.
	if _, _, err := secrets.LoadOrCreateMasterKey(good); err != nil {
		t.Fatal(err)
	}
}

func TestParseMasterKey(t *testing.T) {
	raw := randomBytes(t, 32)
	want, err := secrets.ParseMasterKey(base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		base64.RawStdEncoding.EncodeToString(raw),
		base64.URLEncoding.EncodeToString(raw),
		base64.RawURLEncoding.EncodeToString(raw),
		"  " + base64.StdEncoding.EncodeToString(raw) + "\n",
	} {
		k, err := secrets.ParseMasterKey(s)
		if err != nil || k.ID() != want.ID() {
			t.Errorf("ParseMasterKey of another spelling: %v", err)
		}
	}
	secretish := "not a key: " + canary()
	for _, s := range []string{
		"",
		"   ",
		secretish,
		hex.EncodeToString(raw),
		base64.StdEncoding.EncodeToString(raw[:31]),
		base64.StdEncoding.EncodeToString(append(bytes.Clone(raw), 0)),
		base64.StdEncoding.EncodeToString(make([]byte, 32)),
		base64.StdEncoding.EncodeToString(raw)[:40] + "!" + base64.StdEncoding.EncodeToString(raw)[41:],
	} {
		k, err := secrets.ParseMasterKey(s)
		if err == nil || k != nil || !errors.Is(err, secrets.ErrBadMasterKey) {
			t.Errorf("ParseMasterKey accepted a bad key: %v", err)
			continue
		}
		if len(s) > 3 && strings.Contains(err.Error(), strings.TrimSpace(s)) {
			t.Errorf("error %q quotes its input", err)
		}
	}
}

// No way of printing a MasterKey shows its bytes.
func TestMasterKeyNeverPrintsItsBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	k, _, err := secrets.LoadOrCreateMasterKey(path)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := os.ReadFile(path)
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(text)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %p"} {
		fmt.Fprintf(&out, verb+"\n", k)
		fmt.Fprintf(&out, verb+"\n", *k)
	}
	fmt.Fprintf(&out, "%v %+v\n", []*secrets.MasterKey{k}, struct{ K *secrets.MasterKey }{k})
	j, _ := json.Marshal(map[string]any{"k": k})
	out.Write(j)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("key", "k", k)
	slog.New(slog.NewTextHandler(&out, nil)).Info("key", "k", k)

	s := out.String()
	for _, form := range []string{
		string(raw), hex.EncodeToString(raw), strings.ToUpper(hex.EncodeToString(raw)),
		base64.RawStdEncoding.EncodeToString(raw)[:20], base64.RawURLEncoding.EncodeToString(raw)[:20],
	} {
		if strings.Contains(s, form) {
			t.Fatalf("formatted key contains its bytes:\n%s", s)
		}
	}
	// Decimal renderings of byte slices: look for a run of the key's bytes.
	if strings.Contains(s, strings.Trim(fmt.Sprint(raw[:8]), "[]")) {
		t.Fatalf("formatted key contains its bytes:\n%s", s)
	}
	if !strings.Contains(s, k.ID()) {
		t.Fatalf("formatted key does not show its ID:\n%s", s)
	}
}

func TestCreateMasterKeyDoesNotReplace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k")
	// A dangling link at the path must not be followed to create a file
	// elsewhere.
	target := filepath.Join(dir, "target")
	if runtime.GOOS != "windows" {
		if err := os.Symlink(target, path); err != nil {
			t.Fatal(err)
		}
		if _, _, err := secrets.LoadOrCreateMasterKey(path); err == nil {
			t.Fatal("created a key through a symbolic link")
		}
		if _, err := os.Lstat(target); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("a file appeared at the link's target: %v", err)
		}
	}
}
