package daemon_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// docTable returns the rows of the table in docs/OPERATIONS.md whose first
// cell is a code-formatted name matching first, as cells without their
// backquotes.
func docTable(t *testing.T, first *regexp.Regexp) [][]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "OPERATIONS.md"))
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if name := strings.Trim(cells[0], "`"); first.MatchString(name) {
			cells[0] = name
			rows = append(rows, cells)
		}
	}
	return rows
}

// The metrics table of docs/OPERATIONS.md lists exactly the metrics a
// daemon registers, with their types and labels.
func TestMetricsTableMatchesTheDaemon(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	documented := map[string][]string{}
	for _, row := range docTable(t, regexp.MustCompile(`^pave_[a-z_]+$`)) {
		if len(row) < 4 || !slices.Contains([]string{"counter", "gauge", "histogram"}, row[1]) {
			continue // another table's row
		}
		documented[row[0]] = row[1:3]
	}
	registered := map[string]bool{}
	for _, d := range n.d.MetricDefinitions() {
		registered[d.Name] = true
		doc, ok := documented[d.Name]
		if !ok {
			t.Errorf("%s is not in docs/OPERATIONS.md's metrics table", d.Name)
			continue
		}
		var labels []string
		for _, l := range strings.Split(doc[1], ",") {
			if l = strings.Trim(strings.TrimSpace(l), "`"); l != "" {
				labels = append(labels, l)
			}
		}
		if doc[0] != d.Type || !slices.Equal(labels, d.Labels) {
			t.Errorf("%s: documented as %s %v, registered as %s %v", d.Name, doc[0], labels, d.Type, d.Labels)
		}
	}
	for name := range documented {
		if !registered[name] {
			t.Errorf("docs/OPERATIONS.md documents %s, which the daemon does not register", name)
		}
	}
}
