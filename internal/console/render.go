package console

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"time"
)

// pageNames are the templates in templates/, one per page; each defines
// "title" and "content" and is rendered inside layout.html.
var pageNames = []string{"login", "error", "overview", "functions", "function", "posture", "audit", "keys", "revoke",
	"confirm", "async", "call", "dead", "letter", "map", "live"}

var funcs = template.FuncMap{
	"when":  when,
	"ago":   ago,
	"ms":    func(v float64) string { return fmt.Sprintf("%.1f ms", v) },
	"bytes": byteSize,
	"len64": func(b []byte) int64 { return int64(len(b)) },
	"join":  strings.Join,
	"pct":   func(v float64) string { return fmt.Sprintf("%.0f%%", v) },
}

// pages are the parsed page templates, parsed once for every console of
// the process: they are embedded, and html/template executes a parsed
// template from any number of goroutines.
var pages = sync.OnceValue(parsePages)

func parsePages() map[string]*template.Template {
	out := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		out[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFiles,
			"templates/layout.html", "templates/chart.html", "templates/"+name+".html"))
	}
	return out
}

// view is what layout.html renders: the page's own data and the session's
// CSRF token for its forms.
type view struct {
	Page     string
	SignedIn bool
	CSRF     string
	// Who is who is signed in; CanAct is whether they may act (the admin
	// and operators), so that pages offer viewers no action.
	Who    string
	CanAct bool
	Data   any
}

// render writes page with data; a template that fails writes nothing of
// the page, and a plain error instead.
func (c *Console) render(w http.ResponseWriter, status int, page string, s *session, data any) {
	v := view{Page: page, Data: data}
	if s != nil {
		v.SignedIn, v.CSRF, v.Who, v.CanAct = true, s.csrf, s.who(), s.canAct()
	}
	var buf bytes.Buffer
	if err := c.pages[page].Execute(&buf, v); err != nil {
		c.log.Error("console page not rendered", "page", page, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// ago is how long before now t was, roughly.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
