package cli

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/manifest"
)

func TestFunctionRisks(t *testing.T) {
	const head = "name: f\nowner: o\nroutes:\n  - method: GET\n    path: /a\n"
	for _, tc := range []struct {
		name     string
		old, new string
		want     []string
	}{
		{"same", head, head, nil},
		{"route made public", head, "name: f\nowner: o\nroutes:\n  - method: GET\n    path: /a\n    public: true\n",
			[]string{"route GET /a becomes public"}},
		{"new public route", head, head + "  - method: POST\n    path: /b\n    public: true\n",
			[]string{"route POST /b becomes public"}},
		{"public already", head + "  - method: POST\n    path: /b\n    public: true\n", head + "  - method: POST\n    path: /b\n    public: true\n", nil},
		{"grants added", head + "capabilities:\n  http: [a.example]\n  secrets: [S]\n",
			head + "capabilities:\n  http: [a.example, b.example]\n  secrets: [S, T]\n  invoke: [g]\n  publish: [t.x]\n",
			[]string{"grant widens: secrets +T", "grant widens: http +b.example", "grant widens: invoke +g", "grant widens: publish +t.x"}},
		{"grants narrowed", head + "capabilities:\n  http: [a.example, b.example]\n", head + "capabilities:\n  http: [a.example]\n", nil},
		{"kv", head + "capabilities:\n  kv: {a: read, b: write}\n", head + "capabilities:\n  kv: {a: write, b: read, c: read}\n",
			[]string{"grant widens: kv a write", "grant widens: kv c read"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old, err := manifest.Parse("old", []byte(tc.old))
			if err != nil {
				t.Fatal(err)
			}
			m, err := manifest.Parse("new", []byte(tc.new))
			if err != nil {
				t.Fatal(err)
			}
			if got := functionRisks(old, m); !slices.Equal(got, tc.want) {
				t.Errorf("risks %q, want %q", got, tc.want)
			}
		})
	}
}

func TestKeyDiff(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	in := func(d time.Duration) *time.Time { at := created.Add(d); return &at }
	have := client.Key{Name: "ci", Functions: []string{"b", "a"}, Scopes: []string{"r"}, CIDRs: []string{"10.0.0.0/8"}, CreatedAt: created, ExpiresAt: in(time.Hour)}
	for _, tc := range []struct {
		name           string
		want           client.CreateKeyRequest
		expires        time.Duration
		details, risks []string
	}{
		{"same", client.CreateKeyRequest{Functions: []string{"a", "b"}, Scopes: []string{"r"}, CIDRs: []string{"10.0.0.0/8"}}, time.Hour, nil, nil},
		{"function removed", client.CreateKeyRequest{Functions: []string{"a"}, Scopes: []string{"r"}, CIDRs: []string{"10.0.0.0/8"}}, time.Hour,
			[]string{"functions -b"}, nil},
		{"function and scope added", client.CreateKeyRequest{Functions: []string{"a", "b", "c"}, Scopes: []string{"r", "w"}, CIDRs: []string{"10.0.0.0/8"}}, time.Hour,
			[]string{"functions +c", "scopes +w"}, []string{"key widens: functions +c", "key widens: scopes +w"}},
		{"networks dropped", client.CreateKeyRequest{Functions: []string{"a", "b"}, Scopes: []string{"r"}}, time.Hour,
			[]string{"networks -10.0.0.0/8"}, []string{"key widens: networks -10.0.0.0/8"}},
		{"network narrowed", client.CreateKeyRequest{Functions: []string{"a", "b"}, Scopes: []string{"r"}, CIDRs: []string{"10.1.0.0/16"}}, time.Hour,
			[]string{"networks +10.1.0.0/16 -10.0.0.0/8"}, []string{"key widens: networks +10.1.0.0/16 -10.0.0.0/8"}},
		{"expires sooner", client.CreateKeyRequest{Functions: []string{"a", "b"}, Scopes: []string{"r"}, CIDRs: []string{"10.0.0.0/8"}}, time.Minute,
			[]string{"expires 1h0m0s -> 1m0s after creation"}, nil},
		{"never expires", client.CreateKeyRequest{Functions: []string{"a", "b"}, Scopes: []string{"r"}, CIDRs: []string{"10.0.0.0/8"}}, 0,
			[]string{"expires 1h0m0s -> never after creation"}, []string{"key widens: expires later"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			details, risks := keyDiff(have, tc.want, tc.expires)
			if !slices.Equal(details, tc.details) || !slices.Equal(risks, tc.risks) {
				t.Errorf("details %q risks %q, want %q %q", details, risks, tc.details, tc.risks)
			}
		})
	}
}

func TestBudgetWidens(t *testing.T) {
	base := client.Budget{Window: "day", Invocations: 100, ComputeGBSeconds: 10}
	for _, tc := range []struct {
		new  client.Budget
		want bool
	}{
		{base, false},
		{client.Budget{Window: "day", Invocations: 50, ComputeGBSeconds: 10}, false},
		{client.Budget{Window: "day", Invocations: 50, ComputeGBSeconds: 10, RequestBytes: 1 << 20}, false},
		{client.Budget{Window: "day", Invocations: 200, ComputeGBSeconds: 10}, true},
		{client.Budget{Window: "day", Invocations: 100}, true},
		{client.Budget{Window: "month", Invocations: 100, ComputeGBSeconds: 10}, true},
	} {
		if got := budgetWidens(base, tc.new); got != tc.want {
			t.Errorf("budgetWidens(%+v, %+v) = %v", base, tc.new, got)
		}
	}
}

func TestOrderChanges(t *testing.T) {
	var all []*change
	for _, s := range []string{"delete function x", "create budget b", "delete key k", "update key k2", "create function f", "missing secret S", "delete budget c", "differs issuer i"} {
		f := strings.Fields(s)
		all = append(all, &change{Action: f[0], Kind: f[1], Name: f[2]})
	}
	var got []string
	for _, ch := range orderChanges(all) {
		got = append(got, ch.Action+" "+ch.Kind+" "+ch.Name)
	}
	want := []string{"create function f", "update key k2", "create budget b", "missing secret S", "differs issuer i", "delete budget c", "delete key k", "delete function x"}
	if !slices.Equal(got, want) {
		t.Errorf("order %q, want %q", got, want)
	}
}

func TestAppCommandLine(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"plan", dir}, 1, "no app file " + dir + "/pave.app.yaml"},
		{[]string{"plan", "--format", "yaml", dir}, 2, `--format "yaml": want text or json`},
		{[]string{"drift", "--prune", dir}, 2, "flag provided but not defined: -prune"},
		{[]string{"plan", "--yes", dir}, 2, "flag provided but not defined: -yes"},
		{[]string{"plan", "a", "b"}, 2, "want [FILE], got 2 arguments"},
	} {
		var stdout, stderr strings.Builder
		code := Main(tc.args, strings.NewReader(""), &stdout, &stderr, func(string) string { return "" })
		if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("pave %q: exit %d, %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.want)
		}
	}
}
