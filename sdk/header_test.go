package pave

import (
	"reflect"
	"testing"
)

func TestHeaderGetValues(t *testing.T) {
	h := Header{
		{Name: "Content-Type", Value: "text/plain"},
		{Name: "X-Multi", Value: "one"},
		{Name: "x-multi", Value: "two"},
	}
	if got := h.Get("content-type"); got != "text/plain" {
		t.Errorf("Get(content-type) = %q, want %q", got, "text/plain")
	}
	if got := h.Get("X-MULTI"); got != "one" {
		t.Errorf("Get(X-MULTI) = %q, want the first value %q", got, "one")
	}
	if got := h.Get("Missing"); got != "" {
		t.Errorf("Get(Missing) = %q, want empty", got)
	}
	if got, want := h.Values("X-Multi"), []string{"one", "two"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Values(X-Multi) = %q, want %q", got, want)
	}
	if got := h.Values("Missing"); got != nil {
		t.Errorf("Values(Missing) = %q, want nil", got)
	}
	var zero Header
	if got := zero.Get("A"); got != "" {
		t.Errorf("zero Header: Get(A) = %q", got)
	}
}

func TestHeaderEdit(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Header)
		want Header
	}{
		{
			name: "add appends",
			edit: func(h *Header) { h.Add("a", "3") },
			want: Header{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}, {Name: "a", Value: "0"}, {Name: "a", Value: "3"}},
		},
		{
			name: "set replaces the first and removes the rest",
			edit: func(h *Header) { h.Set("a", "new") },
			want: Header{{Name: "a", Value: "new"}, {Name: "B", Value: "2"}},
		},
		{
			name: "set of a new name appends",
			edit: func(h *Header) { h.Set("C", "3") },
			want: Header{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}, {Name: "a", Value: "0"}, {Name: "C", Value: "3"}},
		},
		{
			name: "del removes all",
			edit: func(h *Header) { h.Del("A") },
			want: Header{{Name: "B", Value: "2"}},
		},
		{
			name: "del of a missing name",
			edit: func(h *Header) { h.Del("Z") },
			want: Header{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}, {Name: "a", Value: "0"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := Header{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}, {Name: "a", Value: "0"}}
			tt.edit(&h)
			if !reflect.DeepEqual(h, tt.want) {
				t.Errorf("got %q, want %q", h, tt.want)
			}
		})
	}
}

func TestZeroHeaderSet(t *testing.T) {
	var r Response
	r.Header.Set("Cache-Control", "no-store")
	if got := r.Header.Get("cache-control"); got != "no-store" {
		t.Errorf("Get = %q after Set on a zero Header", got)
	}
}
