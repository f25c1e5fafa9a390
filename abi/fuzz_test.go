package abi

import (
	"bytes"
	"reflect"
	"slices"
	"testing"
)

// decodeErrors are all the errors a decoder may return.
var decodeErrors = []error{
	ErrFormat, ErrTruncated, ErrTrailingData, ErrVarint, ErrTooLarge, ErrMethod,
	ErrTooManyParams, ErrTooManyHeaders, ErrHeadersTooLarge, ErrHeaderName,
	ErrHeaderValue, ErrStatus,
}

func FuzzDecodeRequest(f *testing.F) {
	for _, r := range sampleRequests {
		f.Add(AppendRequest(nil, r))
	}
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add(build(raw{1}, "GET", "/", "/", uv(1), "id", "1", "", uv(1), "X", "a\r\nb", "", "", ""))
	f.Fuzz(func(t *testing.T, b []byte) {
		input := bytes.Clone(b)
		r, err := DecodeRequest(input)
		if err != nil {
			if r != nil {
				t.Fatalf("DecodeRequest returned a request with error %v", err)
			}
			if !slices.Contains(decodeErrors, err) {
				t.Fatalf("DecodeRequest returned an undocumented error: %v", err)
			}
			return
		}
		clear(input) // the result must not alias the input
		if err := r.Validate(); err != nil {
			t.Fatalf("decoded request does not validate: %v", err)
		}
		enc := AppendRequest(nil, r)
		if !bytes.Equal(enc, b) {
			t.Fatalf("re-encoding differs from the input:\ngot  % x\nwant % x", enc, b)
		}
		again, err := DecodeRequest(enc)
		if err != nil {
			t.Fatalf("re-encoded request does not decode: %v", err)
		}
		if !reflect.DeepEqual(again, r) {
			t.Fatalf("re-decoded request differs:\ngot  %#v\nwant %#v", again, r)
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	for _, r := range sampleResponses {
		f.Add(AppendResponse(nil, r))
	}
	f.Add([]byte{})
	f.Add([]byte{1, 0xc8, 0x01})
	f.Add(build(raw{1}, uv(200), uv(1), "X", "a\nb", ""))
	f.Fuzz(func(t *testing.T, b []byte) {
		input := bytes.Clone(b)
		r, err := DecodeResponse(input)
		if err != nil {
			if r != nil {
				t.Fatalf("DecodeResponse returned a response with error %v", err)
			}
			if !slices.Contains(decodeErrors, err) {
				t.Fatalf("DecodeResponse returned an undocumented error: %v", err)
			}
			return
		}
		clear(input)
		if err := r.Validate(); err != nil {
			t.Fatalf("decoded response does not validate: %v", err)
		}
		enc := AppendResponse(nil, r)
		if !bytes.Equal(enc, b) {
			t.Fatalf("re-encoding differs from the input:\ngot  % x\nwant % x", enc, b)
		}
		again, err := DecodeResponse(enc)
		if err != nil {
			t.Fatalf("re-encoded response does not decode: %v", err)
		}
		if !reflect.DeepEqual(again, r) {
			t.Fatalf("re-decoded response differs:\ngot  %#v\nwant %#v", again, r)
		}
	})
}
