package adminapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/adminapi"
	"github.com/pave-dev/pave/internal/observe"
	"github.com/pave-dev/pave/internal/registry"
)

// TestHistoryRecordRoundTrips sends an observe.Record with every field set
// through the history endpoint and reads it with the Go client: the
// client's Invocation must carry every field the daemon sends (it once
// dropped source; now the record is the client's type).
func TestHistoryRecordRoundTrips(t *testing.T) {
	var rec observe.Record
	fill(t, reflect.ValueOf(&rec).Elem(), "record")

	h := adminapi.New(adminapi.Deps{
		Registry: oneFunction{},
		Auth:     tokenAuth("token"),
		History:  oneRecord{rec},
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	srv := httptest.NewServer(h)
	defer srv.Close()

	var got []client.Invocation
	err := client.New(srv.URL, "token").History(context.Background(), rec.Function, client.HistoryQuery{}, func(inv client.Invocation) error {
		got = append(got, inv)
		return nil
	})
	if err != nil || len(got) != 1 {
		t.Fatalf("History: %d records, %v; want 1", len(got), err)
	}
	sent, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	back, err := json.Marshal(got[0])
	if err != nil {
		t.Fatal(err)
	}
	var sentFields, backFields map[string]any
	if err := json.Unmarshal(sent, &sentFields); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(back, &backFields); err != nil {
		t.Fatal(err)
	}
	if n := reflect.TypeFor[observe.Record]().NumField(); len(sentFields) != n {
		t.Fatalf("the record sends %d fields of %d; fill sets them all", len(sentFields), n)
	}
	if !reflect.DeepEqual(sentFields, backFields) {
		t.Errorf("the client does not read back what the daemon sends:\nsent %s\nread %s", sent, back)
	}
}

// fill sets every field of v, recursively, to a value that is not zero.
func fill(t *testing.T, v reflect.Value, name string) {
	t.Helper()
	if v.Type() == reflect.TypeFor[time.Time]() {
		v.Set(reflect.ValueOf(time.Date(2026, 12, 6, 1, 2, 3, 4000, time.UTC)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(name)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(len(name)))
	case reflect.Uint64:
		v.SetUint(uint64(len(name)))
	case reflect.Float64:
		v.SetFloat(float64(len(name)) + 0.5)
	case reflect.Struct:
		for i := range v.NumField() {
			fill(t, v.Field(i), name+"."+v.Type().Field(i).Name)
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(t, s.Index(0), name+"[0]")
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		key := reflect.New(v.Type().Key()).Elem()
		fill(t, key, name+".key")
		val := reflect.New(v.Type().Elem()).Elem()
		fill(t, val, name+".value")
		m.SetMapIndex(key, val)
		v.Set(m)
	default:
		t.Fatalf("fill: %s is a %s; teach fill to set it", name, v.Type())
	}
}

type oneFunction struct{ adminapi.Registry }

func (oneFunction) Get(name string) (*registry.Function, bool) {
	return &registry.Function{Name: name}, true
}

type tokenAuth string

func (a tokenAuth) Check(token string) bool { return token == string(a) }

type oneRecord struct{ rec observe.Record }

func (h oneRecord) Read(_ context.Context, _ observe.Query, fn func(observe.Record) error) error {
	return fn(h.rec)
}
