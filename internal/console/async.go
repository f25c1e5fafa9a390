package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/async"
	"github.com/pave-dev/pave/internal/audit"
	"github.com/pave-dev/pave/internal/registry"
)

// Async is the queue of asynchronous calls and its dead letters;
// *async.Queue provides it, as it does for the admin API.
type Async interface {
	Get(ctx context.Context, id string) (async.Call, error)
	Recent(ctx context.Context, limit, scan int) ([]async.Call, bool, error)
	Dead(ctx context.Context, function string, limit int) ([]async.DeadJob, error)
	Redrive(ctx context.Context, function string, seqs []uint64) (int, error)
}

var _ Async = (*async.Queue)(nil)

// ActionDeadLetterRetry is the admin API's action for re-driving dead
// letters.
const ActionDeadLetterRetry = "dlq.retry"

// maxDeadRows bounds the dead letters a page lists per function.
const maxDeadRows = 500

// The recent calls the async page lists, from the recentScan call records
// written last.
const (
	recentRows = 50
	recentScan = 5000
)

func (c *Console) asyncRoutes() {
	c.handle("GET "+Prefix+"async", signedIn, c.asyncPage)
	c.handle("GET "+Prefix+"async/calls/{id}", signedIn, c.callPage)
	c.handle("GET "+Prefix+"async/dead/{name}", signedIn, c.deadPage)
	c.handle("GET "+Prefix+"async/dead/{name}/{seq}", signedIn, c.letterPage(false))
	c.handle("GET "+Prefix+"async/dead/{name}/{seq}/retry", operatorOnly, c.letterPage(true))
	c.handle("POST "+Prefix+"async/dead/{name}/{seq}/retry", operatorOnly, c.retry)
}

func (c *Console) queue() (Async, error) {
	if c.d.Async == nil {
		return nil, apierror.New(apierror.Unavailable, "asynchronous calls are not served here")
	}
	return c.d.Async, nil
}

type deadCount struct {
	Function string
	Count    int
	More     bool
	Last     time.Time
}

type asyncData struct {
	Functions []deadCount
	// Recent are the calls changed most recently, newest first;
	// RecentScanned is set when more records were kept than were read.
	Recent        []async.Call
	RecentScanned int
}

// asyncPage lists each function's dead letters, and looks up a call.
func (c *Console) asyncPage(w http.ResponseWriter, r *http.Request, s *session) error {
	q, err := c.queue()
	if err != nil {
		return err
	}
	if id := strings.TrimSpace(r.URL.Query().Get("call")); id != "" {
		http.Redirect(w, r, Prefix+"async/calls/"+url.PathEscape(id), http.StatusSeeOther)
		return nil
	}
	var data asyncData
	recent, more, err := q.Recent(r.Context(), recentRows, recentScan)
	if err != nil {
		return apierror.Wrap(err, apierror.Unavailable, "the calls cannot be read right now")
	}
	data.Recent = recent
	if more {
		data.RecentScanned = recentScan
	}
	fns := c.d.Functions.List()
	slices.SortFunc(fns, func(a, b *registry.Function) int { return strings.Compare(a.Name, b.Name) })
	for _, f := range fns {
		dead, err := q.Dead(r.Context(), f.Name, maxDeadRows+1)
		if err != nil {
			return apierror.Wrap(err, apierror.Unavailable, "the dead letters cannot be read right now")
		}
		row := deadCount{Function: f.Name, Count: min(len(dead), maxDeadRows), More: len(dead) > maxDeadRows}
		if len(dead) > 0 {
			row.Last = dead[len(dead)-1].At
		}
		data.Functions = append(data.Functions, row)
	}
	c.render(w, http.StatusOK, "async", s, data)
	return nil
}

type callData struct {
	Call async.Call
}

// callPage shows an asynchronous call's record, whoever made it.
func (c *Console) callPage(w http.ResponseWriter, r *http.Request, s *session) error {
	q, err := c.queue()
	if err != nil {
		return err
	}
	call, err := q.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, async.ErrNotFound) {
		return apierror.New(apierror.NotFound, "no such call (or it has expired)")
	}
	if err != nil {
		return apierror.Wrap(err, apierror.Unavailable, "the call cannot be read right now")
	}
	call.Digest = ""
	c.render(w, http.StatusOK, "call", s, callData{Call: call})
	return nil
}

type deadData struct {
	Function string
	Letters  []async.DeadJob
	More     bool
}

// deadPage lists a function's dead letters, newest first.
func (c *Console) deadPage(w http.ResponseWriter, r *http.Request, s *session) error {
	q, err := c.queue()
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if _, ok := c.d.Functions.Get(name); !ok {
		return apierror.New(apierror.FunctionNotFound, "no function named %q", name)
	}
	dead, err := q.Dead(r.Context(), name, 0)
	if err != nil {
		return apierror.Wrap(err, apierror.Unavailable, "the dead letters cannot be read right now")
	}
	data := deadData{Function: name}
	if len(dead) > maxDeadRows {
		dead, data.More = dead[len(dead)-maxDeadRows:], true
	}
	slices.Reverse(dead)
	data.Letters = dead
	c.render(w, http.StatusOK, "dead", s, data)
	return nil
}

type letterData struct {
	Function string
	Letter   async.DeadJob
	BodySize int
	Confirm  bool
}

// letter finds the dead letter the path names.
func (c *Console) letter(r *http.Request) (string, *async.DeadJob, error) {
	q, err := c.queue()
	if err != nil {
		return "", nil, err
	}
	name := r.PathValue("name")
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil {
		return name, nil, apierror.New(apierror.BadRequest, "a dead letter is named by its sequence number")
	}
	dead, err := q.Dead(r.Context(), name, 0)
	if err != nil {
		return name, nil, apierror.Wrap(err, apierror.Unavailable, "the dead letters cannot be read right now")
	}
	for i := range dead {
		if dead[i].Sequence == seq {
			return name, &dead[i], nil
		}
	}
	return name, nil, apierror.New(apierror.NotFound, "%s has no dead letter %d (retried, or never one of its own)", name, seq)
}

// letterPage shows one dead letter; with confirm, it asks before retrying
// it.
func (c *Console) letterPage(confirm bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, s *session) error {
		name, d, err := c.letter(r)
		if err != nil {
			return err
		}
		d.Job.Digest = ""
		c.render(w, http.StatusOK, "letter", s, letterData{Function: name, Letter: *d, BodySize: len(d.Job.Request.Body), Confirm: confirm})
		return nil
	}
}

// retry queues a dead letter again with fresh attempts, as 'pave dlq
// retry' does, audited whichever way it ends.
func (c *Console) retry(w http.ResponseWriter, r *http.Request, s *session) error {
	q, err := c.queue()
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	target := audit.Ref("function", name)
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil {
		c.audit(r, s, ActionDeadLetterRetry, target, string(audit.Denied), map[string]string{"reason": string(apierror.BadRequest)})
		return apierror.New(apierror.BadRequest, "a dead letter is named by its sequence number")
	}
	details := map[string]string{"sequence": fmt.Sprint(seq)}
	n, err := q.Redrive(r.Context(), name, []uint64{seq})
	details["redriven"] = fmt.Sprint(n)
	if errors.Is(err, async.ErrNotDead) {
		details["reason"] = string(apierror.NotFound)
		c.audit(r, s, ActionDeadLetterRetry, target, string(audit.Denied), details)
		return apierror.New(apierror.NotFound, "%s has no dead letter %d (retried, or never one of its own)", name, seq)
	}
	if err != nil {
		details["reason"] = string(apierror.Internal)
		c.audit(r, s, ActionDeadLetterRetry, target, string(audit.Failed), details)
		return err
	}
	c.audit(r, s, ActionDeadLetterRetry, target, string(audit.OK), details)
	http.Redirect(w, r, Prefix+"async/dead/"+name, http.StatusSeeOther)
	return nil
}
