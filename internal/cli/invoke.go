package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"os"
	"slices"
	"strings"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/manifest"
)

var invokeCommand = &command{
	name:    "invoke",
	args:    "NAME",
	summary: "call a function through the admin API",
	help: `
Calls a function as one of its routes would, but through the admin API and
its token, so that no API key is needed, and prints the function's response
body; -i prints the status line and headers before it. The exit status is
1 when the function answers with a status of 400 or more, and the body is
printed all the same.

--method and --path choose the function's route as the gateway would for
a request with that method and path, filling the route's parameters from
the path; without them the call goes to the function's first route (as
its method and path are written in the manifest). A method and path that
no route of the function has are refused, with the function's routes. A
body that is valid JSON is sent as application/json unless -H sets a
Content-Type. As in curl, --data is the request body here, so the daemon's
data directory is --data-dir.`,
	run: runInvoke,
}

func runInvoke(ctx context.Context, inv *invocation, args []string) error {
	data := inv.fs.String("data", "", "request `BODY`: the text itself, @FILE to read a file, or @- to read stdin")
	method := inv.fs.String("method", "", "HTTP `METHOD` of the request (default: the first route's)")
	path := inv.fs.String("path", "", "`PATH` of the request as in a URL, such as /todos/42 (default: the first route's)")
	query := inv.fs.String("query", "", "`QUERY` string of the request, such as 'a=1&b=2'")
	headers := make(headerFlag)
	inv.fs.Var(headers, "H", "request `HEADER` as 'Name: value'; repeatable")
	include := inv.fs.Bool("i", false, "print the response's status line and headers before its body")
	dataDir := inv.dataDirFlag("data-dir")
	pos, err := inv.parse(args, 1, 1)
	if err != nil {
		return err
	}
	name := pos[0]

	body, err := readBody(*data, inv.stdin)
	if err != nil {
		return err
	}
	if _, set := headers["Content-Type"]; !set && len(body) > 0 && json.Valid(body) {
		headers["Content-Type"] = "application/json"
	}
	c, err := inv.client(*dataDir)
	if err != nil {
		return err
	}
	resp, err := c.Invoke(ctx, name, client.InvokeRequest{
		Method:  strings.ToUpper(*method),
		Path:    *path,
		Query:   strings.TrimPrefix(*query, "?"),
		Headers: headers,
		Body:    body,
	})
	if err != nil {
		return err
	}

	if *include {
		printResponseHead(inv.stdout, resp)
	}
	if _, err := inv.stdout.Write(resp.Body); err != nil {
		return err
	}
	// A body without a final newline would run into the shell's prompt.
	if len(resp.Body) > 0 && resp.Body[len(resp.Body)-1] != '\n' && isTerminal(inv.stdout) {
		fmt.Fprintln(inv.stdout)
	}
	if resp.Status >= 400 {
		return fmt.Errorf("%s answered %d %s (request %s)", name, resp.Status, http.StatusText(resp.Status), resp.RequestID)
	}
	return nil
}

// printResponseHead prints the status line and headers of a response, in
// the form of HTTP/1.1 as curl -i does.
func printResponseHead(w io.Writer, resp *client.InvokeResponse) {
	fmt.Fprintf(w, "HTTP/1.1 %d %s\r\n", resp.Status, http.StatusText(resp.Status))
	names := make([]string, 0, len(resp.Headers))
	for name := range resp.Headers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		for _, v := range resp.Headers[name] {
			fmt.Fprintf(w, "%s: %s\r\n", name, v)
		}
	}
	fmt.Fprint(w, "\r\n")
}

// readBody returns the request body that --data describes.
func readBody(data string, stdin io.Reader) ([]byte, error) {
	file, ok := strings.CutPrefix(data, "@")
	if !ok {
		return []byte(data), nil
	}
	r := stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	// No function accepts more than manifest.MaxMaxBody.
	body, err := io.ReadAll(io.LimitReader(r, manifest.MaxMaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("reading the request body: %w", err)
	}
	if int64(len(body)) > manifest.MaxMaxBody {
		return nil, fmt.Errorf("request body is larger than %s, the most any function accepts", formatSize(manifest.MaxMaxBody))
	}
	return body, nil
}

// headerFlag collects repeated -H 'Name: value' flags. The values of a
// repeated name are joined with ", ", as HTTP allows.
type headerFlag map[string]string

func (h headerFlag) String() string {
	lines := make([]string, 0, len(h))
	for name, v := range h {
		lines = append(lines, name+": "+v)
	}
	slices.Sort(lines)
	return strings.Join(lines, ", ")
}

func (h headerFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, ":")
	if !ok {
		return errors.New(`want "Name: value"`)
	}
	if name == "" || strings.IndexFunc(name, func(c rune) bool { return !isTokenChar(c) }) >= 0 {
		return fmt.Errorf("invalid header name %q", name)
	}
	value = strings.TrimSpace(value)
	if strings.ContainsAny(value, "\r\n\x00") {
		return fmt.Errorf("header %s: value must be one line", name)
	}
	name = textproto.CanonicalMIMEHeaderKey(name)
	if prev, ok := h[name]; ok {
		value = prev + ", " + value
	}
	h[name] = value
	return nil
}

// isTokenChar reports whether c may appear in an HTTP header name (RFC 9110
// section 5.6.2).
func isTokenChar(c rune) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.ContainsRune("!#$%&'*+-.^_`|~", c)
}
