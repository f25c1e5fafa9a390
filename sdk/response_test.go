package pave

import (
	"reflect"
	"testing"
)

func TestResponseConstructors(t *testing.T) {
	tests := []struct {
		name string
		got  *Response
		want *Response
	}{
		{
			name: "text",
			got:  Text(201, "hi\n"),
			want: &Response{Status: 201, Header: Header{{Name: "Content-Type", Value: "text/plain; charset=utf-8"}}, Body: []byte("hi\n")},
		},
		{
			name: "bytes",
			got:  Bytes(200, "image/png", []byte{0x89, 'P'}),
			want: &Response{Status: 200, Header: Header{{Name: "Content-Type", Value: "image/png"}}, Body: []byte{0x89, 'P'}},
		},
		{
			name: "bytes without a content type",
			got:  Bytes(200, "", []byte("x")),
			want: &Response{Status: 200, Body: []byte("x")},
		},
		{
			name: "json",
			got:  JSON(200, map[string]any{"html": "<b>&</b>", "n": 1}),
			want: &Response{Status: 200, Header: Header{{Name: "Content-Type", Value: "application/json"}}, Body: []byte(`{"html":"<b>&</b>","n":1}` + "\n")},
		},
		{
			name: "json null",
			got:  JSON(404, nil),
			want: &Response{Status: 404, Header: Header{{Name: "Content-Type", Value: "application/json"}}, Body: []byte("null\n")},
		},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", tt.name, tt.got, tt.want)
		}
	}
}
