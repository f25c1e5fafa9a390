// Package kv is a function's access to the key-value buckets its manifest
// grants it.
//
// A bucket is granted by name, read-only or read-write, in pave.yaml:
//
//	capabilities:
//	  kv: {orders: write, prices: read}
//
// A bucket belongs to the function's owner: every function of that owner
// granted "orders" sees the same keys, and no other owner's "orders" is
// reachable. Keys are 1 to abi.MaxKVKey bytes of letters, digits and
// - _ = . / (not starting or ending with '.'); values are up to
// abi.MaxKVValue bytes.
//
// Every entry has a revision, a number the store raises on each write.
// Get returns it and CAS writes only if the key is still at the revision
// read, which makes read-modify-write safe against concurrent invocations:
//
//	b := kv.Open("orders")
//	v, rev, err := b.Get("count")
//	...
//	_, err = b.CAS("count", next(v), rev) // kv.ErrConflict: read again and retry
//
// Open does not call the host; each operation is checked against the grants
// when it is made. Operations belong in the handler: during package
// initialisation no invocation may be running, and then they fail with
// ErrDenied.
//
// A module that uses this package imports pave_kv_v1, which the host links
// only for a function whose manifest grants at least one bucket: deploying
// it without a grant is refused.
//
// Outside WebAssembly, such as under go test, every operation fails with
// ErrUnavailable.
package kv

import (
	"fmt"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/sdk/internal/hostcall"
)

// Errors of the operations. The error an operation returns wraps one of
// them, so errors.Is matches it, and carries the host's reason.
var (
	// ErrInvalid: a bucket name, key, prefix or value is malformed or too
	// large.
	ErrInvalid = kinds[abi.ErrCodeInvalid]
	// ErrDenied: the manifest does not grant the bucket, or grants it
	// read-only to a write.
	ErrDenied = kinds[abi.ErrCodeDenied]
	// ErrNotFound: no such key.
	ErrNotFound = kinds[abi.ErrCodeNotFound]
	// ErrConflict: CAS found the key at another revision, or, with
	// revision 0, found that it exists.
	ErrConflict = kinds[abi.ErrCodeConflict]
	// ErrLimit: the invocation made more capability calls than the host
	// allows.
	ErrLimit = kinds[abi.ErrCodeLimit]
	// ErrUnavailable: the store failed, or the function is not running in
	// pave; retrying later may help.
	ErrUnavailable = kinds[abi.ErrCodeUnavailable]
)

var kinds = hostcall.NewKinds("kv", abi.ErrCodeInvalid, abi.ErrCodeDenied, abi.ErrCodeNotFound, abi.ErrCodeConflict, abi.ErrCodeLimit, abi.ErrCodeUnavailable)

// Bucket is a key-value bucket granted to the function. Its methods are
// safe for concurrent use.
type Bucket struct {
	name string
}

// Open returns the bucket name. It does not call the host: whether the
// manifest grants the bucket is checked by each operation.
func Open(name string) *Bucket {
	return &Bucket{name: name}
}

// Name returns the bucket's name.
func (b *Bucket) Name() string { return b.name }

func (b *Bucket) op(verb string) hostcall.Op {
	return hostcall.Op{Call: "kv: " + verb + " in bucket", Name: b.name}
}

// checkKey refuses a key the store would refuse, before calling the host.
func checkKey(op hostcall.Op, key string) error {
	if !abi.ValidKVKey(key) {
		return hostcall.Fail(op, kinds, abi.ErrCodeInvalid,
			fmt.Sprintf("a key is 1 to %d letters, digits and - _ = . /, not starting or ending with '.'", abi.MaxKVKey))
	}
	return nil
}

func checkValue(op hostcall.Op, value []byte) error {
	if len(value) > abi.MaxKVValue {
		return hostcall.Fail(op, kinds, abi.ErrCodeInvalid, fmt.Sprintf("a value is at most %d bytes", abi.MaxKVValue))
	}
	return nil
}

// Get returns the value of key and its revision. It fails with ErrNotFound
// if there is no such key.
func (b *Bucket) Get(key string) (value []byte, revision uint64, err error) {
	op := b.op("get")
	if err := checkKey(op, key); err != nil {
		return nil, 0, err
	}
	res, err := hostcall.Call(op, kinds, func() int32 { return hostGet(b.name, key) })
	if err != nil {
		return nil, 0, err
	}
	return decodeEntry(op, res)
}

// Put sets key to value, whatever its revision, and returns the new
// revision.
func (b *Bucket) Put(key string, value []byte) (uint64, error) {
	op := b.op("put")
	if err := checkKey(op, key); err != nil {
		return 0, err
	}
	if err := checkValue(op, value); err != nil {
		return 0, err
	}
	res, err := hostcall.Call(op, kinds, func() int32 { return hostPut(b.name, key, value) })
	if err != nil {
		return 0, err
	}
	return decodeRevision(op, res)
}

// CAS sets key to value only if the key is at revision, as returned by Get
// or by an earlier write, and returns the new revision. Revision 0 creates
// the key, which must not exist. If the key is at another revision, or
// exists when revision is 0, CAS fails with ErrConflict and changes
// nothing; a key that does not exist is at no revision but 0.
func (b *Bucket) CAS(key string, value []byte, revision uint64) (uint64, error) {
	op := b.op("cas")
	if err := checkKey(op, key); err != nil {
		return 0, err
	}
	if err := checkValue(op, value); err != nil {
		return 0, err
	}
	res, err := hostcall.Call(op, kinds, func() int32 { return hostCAS(b.name, key, value, revision) })
	if err != nil {
		return 0, err
	}
	return decodeRevision(op, res)
}

// Delete removes key. It fails with ErrNotFound if there is no such key,
// and may fail with ErrConflict if another invocation writes the key at the
// same moment.
func (b *Bucket) Delete(key string) error {
	op := b.op("delete")
	if err := checkKey(op, key); err != nil {
		return err
	}
	_, err := hostcall.Call(op, kinds, func() int32 { return hostDelete(b.name, key) })
	return err
}

// List returns the keys that start with prefix, sorted bytewise; the empty
// prefix lists every key. It returns at most abi.MaxKVList keys: the first
// ones if there are more.
func (b *Bucket) List(prefix string) ([]string, error) {
	op := b.op("list")
	if len(prefix) > abi.MaxKVKey {
		return nil, hostcall.Fail(op, kinds, abi.ErrCodeInvalid, fmt.Sprintf("a prefix is at most %d bytes", abi.MaxKVKey))
	}
	res, err := hostcall.Call(op, kinds, func() int32 { return hostList(b.name, prefix) })
	if err != nil {
		return nil, err
	}
	return decodeList(op, res)
}

// decodeEntry decodes the result of get: a revision and the value.
func decodeEntry(op hostcall.Op, res []byte) ([]byte, uint64, error) {
	rev, value, err := abi.DecodeKVEntry(res)
	if err != nil {
		return nil, 0, hostcall.Malformed(op, kinds, err)
	}
	return value, rev, nil
}

// decodeRevision decodes the result of put and cas: a revision alone.
func decodeRevision(op hostcall.Op, res []byte) (uint64, error) {
	rev, value, err := abi.DecodeKVEntry(res)
	if err == nil && len(value) != 0 {
		err = abi.ErrTrailingData
	}
	if err != nil {
		return 0, hostcall.Malformed(op, kinds, err)
	}
	return rev, nil
}

// decodeList decodes the result of list.
func decodeList(op hostcall.Op, res []byte) ([]string, error) {
	keys, err := abi.DecodeStrings(res)
	if err != nil {
		return nil, hostcall.Malformed(op, kinds, err)
	}
	return keys, nil
}
