package manifest

import "fmt"

// CheckRoutes reports routes that collide across manifests: routes with
// the same Pattern, which the gateway could not tell apart. Each collision
// is an *Error located at the later of the two routes, in the order of
// ms, that names both functions and where each route is defined. The
// result is nil or an ErrorList.
//
// Every pair of routes is compared, whatever the functions' names, so to
// check that redeploying a function would not collide, leave the function's
// current manifest out of ms. Nil manifests are skipped.
func CheckRoutes(ms []*Manifest) error {
	type claim struct {
		m *Manifest
		r Route
	}
	claims := make(map[string]claim)
	var errs ErrorList
	for _, m := range ms {
		if m == nil {
			continue
		}
		for i, r := range m.Routes {
			first, taken := claims[r.Pattern()]
			if !taken {
				claims[r.Pattern()] = claim{m, r}
				continue
			}
			errs = append(errs, &Error{
				File:  m.File,
				Line:  r.Line,
				Field: fmt.Sprintf("routes[%d]", i),
				Msg: fmt.Sprintf("%s %s of function %q collides with %s",
					r.Method, r.Path, m.Name, describeRoute(first.m, first.r)),
			})
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// describeRoute names r, a route of m, and where it is defined.
func describeRoute(m *Manifest, r Route) string {
	s := fmt.Sprintf("%s %s of function %q", r.Method, r.Path, m.Name)
	if pos := position(m.File, r.Line, 0); pos != "" {
		s += " (" + pos + ")"
	}
	return s
}
