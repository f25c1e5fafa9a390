package members

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/store"
)

// memRecords is a bucket in memory.
type memRecords struct {
	mu   sync.Mutex
	data map[string][]byte
	puts int
	fail error
}

func (m *memRecords) Put(_ context.Context, key string, value []byte) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return 0, m.fail
	}
	m.data[key] = value
	m.puts++
	return uint64(m.puts), nil
}

func (m *memRecords) Get(_ context.Context, key string) (store.Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.data[key]
	if !ok {
		return store.Entry{}, store.ErrNotFound
	}
	return store.Entry{Key: key, Value: v}, nil
}

func (m *memRecords) Keys(context.Context, string, int) ([]string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var keys []string
	for k := range m.data {
		keys = append(keys, k)
	}
	return keys, false, nil
}

// TestNodeID: made once, then the same; a damaged file is an error.
func TestNodeID(t *testing.T) {
	dir := t.TempDir()
	id, err := NodeID(dir)
	if err != nil || !validID(id) {
		t.Fatalf("NodeID = %q, %v", id, err)
	}
	again, err := NodeID(dir)
	if err != nil || again != id {
		t.Errorf("a second start: %q, %v; want %q", again, err, id)
	}
	if other, _ := NodeID(t.TempDir()); other == id {
		t.Error("two data directories share a node id")
	}
	if err := os.WriteFile(filepath.Join(dir, "node.id"), []byte("../../etc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NodeID(dir); err == nil {
		t.Error("a damaged node id was used")
	}
}

// TestBeatAndList: a beat writes the node's record at once, stamped; List
// returns the records sorted, skipping what is not a node's record.
func TestBeatAndList(t *testing.T) {
	rec := &memRecords{data: map[string][]byte{"junk": []byte("{")}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	started := time.Now().UTC()
	go func() {
		defer close(done)
		Beat(ctx, rec, func() Node { return Node{ID: "b000000000000000", Host: "b", StartedAt: started} }, slog.New(slog.DiscardHandler))
	}()
	if err := put(context.Background(), rec, Node{ID: "a000000000000000", Host: "a"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	var nodes []Node
	for {
		var err error
		if nodes, err = List(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
		if len(nodes) == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if len(nodes) != 2 || nodes[0].Host != "a" || nodes[1].Host != "b" {
		t.Fatalf("nodes = %+v, want a and b", nodes)
	}
	if b := nodes[1]; b.Heartbeat.Before(started) || !b.StartedAt.Equal(started) {
		t.Errorf("b's record: %+v", b)
	}
	rec.fail = errors.New("store down")
	if err := put(context.Background(), rec, Node{ID: "c000000000000000"}); err == nil {
		t.Error("a failed write was not reported")
	}
}

func TestLeads(t *testing.T) {
	nodes := []Node{{ID: "b000000000000000"}, {ID: "c000000000000000"}}
	for _, tt := range []struct {
		self string
		want bool
	}{
		{"a000000000000000", true}, // not listed yet, and the lowest
		{"b000000000000000", true},
		{"c000000000000000", false},
		{"d000000000000000", false},
	} {
		if got := Leads(nodes, tt.self); got != tt.want {
			t.Errorf("Leads(%s) = %v, want %v", tt.self, got, tt.want)
		}
	}
	if !Leads(nil, "c000000000000000") {
		t.Error("a node alone does not lead")
	}
}

func TestHoldsMasterKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		node Node
		id   string
		want bool
	}{
		{"as its key", Node{MasterKeyID: "a1"}, "a1", true},
		{"as the next key", Node{MasterKeyID: "a1", NextMasterKeyID: "b2"}, "b2", true},
		{"another next key", Node{MasterKeyID: "a1", NextMasterKeyID: "c3"}, "b2", false},
		{"no next key", Node{MasterKeyID: "a1"}, "b2", false},
		{"a node that reports no keys", Node{}, "b2", false},
		{"no id asked", Node{}, "", false},
	} {
		if got := tc.node.HoldsMasterKey(tc.id); got != tc.want {
			t.Errorf("%s: HoldsMasterKey(%q) = %v, want %v", tc.name, tc.id, got, tc.want)
		}
	}
}
