package client

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Invocation is the record pave keeps of one call of a function: the
// daemon keeps it (internal/observe) and sends it as it is.
type Invocation struct {
	Time      time.Time `json:"time"`
	RequestID string    `json:"request_id"`
	// Parent is the calling invocation's request id, for a call made by
	// another function.
	Parent   string `json:"parent_request_id,omitempty"`
	Function string `json:"function"`
	Version  int    `json:"version,omitempty"`
	Digest   string `json:"module_digest,omitempty"`
	// Route is the route ("GET /hello") or what else started the call
	// ("admin invoke", "invoke from orders").
	Route  string `json:"route,omitempty"`
	Caller string `json:"caller,omitempty"`
	// Source is the address the request came from; empty for calls from
	// a function or the operator.
	Source string `json:"source,omitempty"`
	Status int    `json:"status"`
	// Code is the error code of a call that failed or was refused.
	Code        string  `json:"error_code,omitempty"`
	DurationMS  float64 `json:"duration_ms"`
	MemoryBytes uint64  `json:"memory_bytes,omitempty"`
	// Capabilities counts the capability calls the invocation made, by
	// capability group.
	Capabilities map[string]CapabilityCount `json:"capabilities,omitempty"`
	Logs         []LogLine                  `json:"logs,omitempty"`
	DroppedLogs  int                        `json:"dropped_logs,omitempty"`
}

// CapabilityCount is how many calls of one capability group an invocation
// made, and how many of them were denied.
type CapabilityCount struct {
	Calls    int `json:"calls"`
	Denials  int `json:"denials,omitempty"`
	Failures int `json:"failures,omitempty"` // granted, and failed
}

// LogLine is one line the function logged.
type LogLine struct {
	Level string `json:"level"`
	Msg   string `json:"msg"`
}

// HistoryQuery selects invocation records.
type HistoryQuery struct {
	// Since is a duration back from now ("1h") or an RFC 3339 time;
	// empty means one hour.
	Since string
	// Status is a status ("404") or a class ("5xx"); empty means all.
	Status string
	// Limit keeps the newest records; 0 means the daemon's default (100).
	Limit int
	// Follow streams new records until ctx ends.
	Follow bool
}

// maxRecordBytes bounds one record line: a record holds up to 200 log
// lines of 4 KiB.
const maxRecordBytes = 2 << 20

// History calls fn with function's invocation records, oldest first.
func (c *Client) History(ctx context.Context, function string, q HistoryQuery, fn func(Invocation) error) error {
	v := url.Values{}
	if q.Since != "" {
		v.Set("since", q.Since)
	}
	if q.Status != "" {
		v.Set("status", q.Status)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Follow {
		v.Set("follow", "true")
	}
	err := c.streamLines(ctx, functionPath(function)+"/history?"+v.Encode(), func(line []byte) error {
		var rec Invocation
		if err := json.Unmarshal(line, &rec); err != nil {
			return fmt.Errorf("decoding an invocation record: %w", err)
		}
		return fn(rec)
	})
	if q.Follow && ctx.Err() != nil {
		return nil // following ends with its context
	}
	return err
}

// streamLines GETs path and calls fn with each line of the JSON-lines
// response.
func (c *Client) streamLines(ctx context.Context, path string, fn func([]byte) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.baseURL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/x-ndjson")
	req.Header.Set("User-Agent", "pave-client")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return readError(resp)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), maxRecordBytes)
	for sc.Scan() {
		if err := fn(sc.Bytes()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	return nil
}

// AuditEvents calls fn with the audit log's events since since (a
// duration back from now or an RFC 3339 time; empty means all), oldest
// first.
func (c *Client) AuditEvents(ctx context.Context, since string, fn func(AuditEvent) error) error {
	path := "/v1/audit"
	if since != "" {
		path += "?since=" + url.QueryEscape(since)
	}
	return c.streamLines(ctx, path, func(line []byte) error {
		var e AuditEvent
		if err := json.Unmarshal(line, &e); err != nil {
			return fmt.Errorf("decoding an audit event: %w", err)
		}
		return fn(e)
	})
}

// AuditVerify checks the audit log's chain, seals and head.
func (c *Client) AuditVerify(ctx context.Context) (*AuditVerifyReport, error) {
	var out AuditVerifyReport
	if err := c.do(ctx, http.MethodGet, "/v1/audit/verify", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
