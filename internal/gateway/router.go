package gateway

import (
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/manifest"
)

// target is what a route leads to.
type target struct {
	Function string
	Route    manifest.Route
	policy   *routePolicy
	// name is the route as records name it: "GET /hello".
	name string
	// params are the route's parameter names in path order.
	params []string
}

// router matches request paths against the routes of every deployed
// function. It is immutable once built: the gateway swaps in a new one on
// every change, so lookups take no lock.
//
// Matching walks the path one segment at a time and prefers, at each
// segment, a literal over a parameter over a catch-all, backtracking when a
// more specific choice leads nowhere. Route collisions were refused at
// deploy, so at most one route of a method matches with a given preference.
type router struct {
	root node
}

type node struct {
	literals map[string]*node
	param    *node
	catchAll map[string]*target // by method; the last segment only
	// handlers by method, for paths that end at this node.
	handlers map[string]*target
}

func (r *router) add(t *target) error {
	segs, err := manifest.ParsePath(t.Route.Path)
	if err != nil {
		return err
	}
	t.params = t.params[:0]
	for _, s := range segs {
		if s.Param != "" {
			t.params = append(t.params, s.Param)
		}
	}
	n := &r.root
	for _, s := range segs {
		switch {
		case s.CatchAll:
			if n.catchAll == nil {
				n.catchAll = make(map[string]*target)
			}
			n.catchAll[t.Route.Method] = t
			return nil
		case s.Param != "":
			if n.param == nil {
				n.param = &node{}
			}
			n = n.param
		default:
			if n.literals == nil {
				n.literals = make(map[string]*node)
			}
			child := n.literals[s.Literal]
			if child == nil {
				child = &node{}
				n.literals[s.Literal] = child
			}
			n = child
		}
	}
	if n.handlers == nil {
		n.handlers = make(map[string]*target)
	}
	n.handlers[t.Route.Method] = t
	return nil
}

// match finds the target for method and the escaped request path, and
// returns the decoded path parameters. found is false when no route has the
// path; methodOK is false when some route has the path but not the method.
//
// Segments are decoded before they are compared, so "/users/m%65" is
// "/users/me". A path that is not canonical or not decodable matches
// nothing rather than being cleaned: cleaning is how path-based checks get
// bypassed. See canonicalSegment for what a decoded segment may hold; in
// short, neither the decoded path nor any parameter has an empty, "." or
// ".." segment, whether the '/' was sent as '/' or as %2F.
func (r *router) match(method, escapedPath string) (t *target, params []abi.Param, found, methodOK bool) {
	if escapedPath == "" || escapedPath[0] != '/' {
		return nil, nil, false, false
	}
	// The segments of most paths fit in buf: no allocation.
	var buf [8]string
	segs := buf[:0]
	if escapedPath != "/" {
		for rest := escapedPath[1:]; ; {
			seg, after, more := strings.Cut(rest, "/")
			segs = append(segs, seg)
			if !more {
				break
			}
			rest = after
		}
	}
	for i, raw := range segs {
		seg, err := url.PathUnescape(raw)
		if err != nil || !canonicalSegment(seg) {
			return nil, nil, false, false
		}
		segs[i] = seg
	}
	var values []string
	t, found = r.root.lookup(method, segs, &values)
	if t == nil || len(values) != len(t.params) {
		return nil, nil, found, false
	}
	if len(values) > 0 {
		params = make([]abi.Param, len(values))
		for i, v := range values {
			params[i] = abi.Param{Name: t.params[i], Value: v}
		}
	}
	return t, params, true, true
}

// lookup returns the target of method for the decoded segs, collecting the
// values of parameters; pathFound reports a route on this path with another
// method.
func (n *node) lookup(method string, segs []string, values *[]string) (t *target, pathFound bool) {
	if len(segs) == 0 {
		if h := n.handlers[method]; h != nil {
			return h, true
		}
		return nil, len(n.handlers) > 0
	}
	seg := segs[0]
	if child := n.literals[seg]; child != nil {
		if t, f := child.lookup(method, segs[1:], values); t != nil {
			return t, true
		} else if f {
			pathFound = true
		}
	}
	if n.param != nil {
		*values = append(*values, seg)
		if t, f := n.param.lookup(method, segs[1:], values); t != nil {
			return t, true
		} else if f {
			pathFound = true
		}
		*values = (*values)[:len(*values)-1]
	}
	if len(n.catchAll) > 0 {
		if h := n.catchAll[method]; h != nil {
			*values = append(*values, strings.Join(segs, "/"))
			return h, true
		}
		pathFound = true
	}
	return nil, pathFound
}

// canonicalPath reports whether p, a decoded path, is one the router
// could match: "/" or segments that canonicalSegment accepts. It holds
// for the path of every request the gateway passes to a function.
func canonicalPath(p string) bool {
	return p == "/" || strings.HasPrefix(p, "/") && canonicalSegment(p[1:])
}

// canonicalSegment reports whether seg, one decoded segment of a request
// path, may be matched. A segment that decodes to several (through %2F)
// must be canonical in each: none empty, "." or "..", so that
// "/files/..%2Fprivate" cannot give a parameter "../private". It must
// also be UTF-8 text without control characters (no NUL, CR or LF) and
// without '\', which WHATWG URL parsers and some servers take for '/'.
//
// Decoding happens once: "%252F" is the three characters "%2F" in the
// parameter, and a function must not decode a parameter again.
func canonicalSegment(seg string) bool {
	if !utf8.ValidString(seg) {
		return false
	}
	for _, c := range []byte(seg) {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return false
		}
	}
	for part := range strings.SplitSeq(seg, "/") {
		if part == "" || part == "." || part == ".." {
			return false
		}
	}
	return true
}
