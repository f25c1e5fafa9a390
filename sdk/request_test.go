package pave

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func TestRequestParam(t *testing.T) {
	r := &Request{Params: []Param{{Name: "org", Value: "pave"}, {Name: "id", Value: "42"}}}
	for name, want := range map[string]string{"org": "pave", "id": "42", "ID": "", "missing": ""} {
		if got := r.Param(name); got != want {
			t.Errorf("Param(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestRequestQuery(t *testing.T) {
	r := &Request{RawQuery: "a=1&a=2&b=&name=J%C3%BCrgen+X"}
	q := r.Query()
	if got, want := q["a"], []string{"1", "2"}; !reflect.DeepEqual(got, want) {
		t.Errorf(`Query()["a"] = %q, want %q`, got, want)
	}
	if got := q.Get("name"); got != "Jürgen X" {
		t.Errorf("Query().Get(name) = %q", got)
	}
	if !q.Has("b") {
		t.Errorf("Query() = %v, want b present", q)
	}
	q.Set("a", "changed")
	if got := r.Query().Get("a"); got != "1" {
		t.Errorf("Query() after modifying an earlier result: a = %q, want %q", got, "1")
	}
}

// TestRequestQueryAmbiguous: a query the gateway refuses gives no values,
// never one reading of it that the gateway did not check.
func TestRequestQueryAmbiguous(t *testing.T) {
	for _, raw := range []string{"limit=1&bad=%zz", "limit=abc;x=1", "limit=1&limit=abc%", "limit=%FF", "limit=1%00"} {
		if q := (&Request{RawQuery: raw}).Query(); q == nil || len(q) != 0 {
			t.Errorf("Query() of %q = %v, want no values", raw, q)
		}
	}
}

func TestRequestDecodeJSON(t *testing.T) {
	var v struct {
		Name string `json:"name"`
	}
	r := &Request{Body: []byte(`{"name":"pave"}`)}
	if err := r.DecodeJSON(&v); err != nil || v.Name != "pave" {
		t.Fatalf("DecodeJSON = %v, value %+v", err, v)
	}

	for _, body := range []string{"", "{", `{"name":1}`, `{} {}`} {
		r := &Request{Body: []byte(body)}
		err := r.DecodeJSON(&v)
		if err == nil {
			t.Errorf("DecodeJSON(%q) succeeded", body)
			continue
		}
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		if !errors.As(err, &syntax) && !errors.As(err, &typ) {
			t.Errorf("DecodeJSON(%q) = %v, want it to wrap the json error", body, err)
		}
	}
}
