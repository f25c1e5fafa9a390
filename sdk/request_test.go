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
	r := &Request{RawQuery: "a=1&a=2&b=&name=J%C3%BCrgen+X&bad=%zz"}
	q := r.Query()
	if got, want := q["a"], []string{"1", "2"}; !reflect.DeepEqual(got, want) {
		t.Errorf(`Query()["a"] = %q, want %q`, got, want)
	}
	if got := q.Get("name"); got != "Jürgen X" {
		t.Errorf("Query().Get(name) = %q", got)
	}
	if !q.Has("b") || q.Has("bad") {
		t.Errorf("Query() = %v, want b present and the malformed pair skipped", q)
	}
	q.Set("a", "changed")
	if got := r.Query().Get("a"); got != "1" {
		t.Errorf("Query() after modifying an earlier result: a = %q, want %q", got, "1")
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
