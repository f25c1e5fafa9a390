package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	// The zone database is compiled in so that a manifest's time zone
	// means the same on every machine: without it, time.LoadLocation
	// fails on hosts that have no /usr/share/zoneinfo (minimal containers,
	// Windows), and a manifest valid on an author's laptop would be
	// refused by the daemon, or the other way round. It adds about 450 KB
	// to the binary, and is consulted only for zones the system's own
	// database, which is usually newer, does not have.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"
)

// This file decodes what a manifest says about the events, other than
// HTTP requests, that run a function: messages on a topic and the ticks
// of a schedule.

// A Trigger is a topic subscription or a schedule; exactly one of Topic
// and Schedule is set.
type Trigger struct {
	Topic string `json:"topic,omitempty"`
	// Schema, for a topic trigger, is a JSON Schema the event data must
	// meet; events that do not are dead-lettered.
	Schema *SchemaRef `json:"schema,omitempty"`
	// Schedule is a cron expression, five fields or a descriptor such as
	// @hourly, with runs of white space written as one space.
	Schedule string `json:"schedule,omitempty"`
	// Timezone is the IANA name of the zone Schedule is read in; Parse
	// sets "UTC" for a schedule whose manifest gives none.
	Timezone string `json:"timezone,omitempty"`
	// Missed is MissedSkip or MissedRunOnce; Parse sets MissedSkip for a
	// schedule whose manifest gives neither.
	Missed string `json:"missed,omitempty"`
	Line   int    `json:"line,omitempty"` // of the trigger entry in the file, for messages
}

// What a schedule does about the ticks it missed while no daemon ran.
const (
	// MissedSkip runs none of the missed ticks: the schedule resumes at
	// its next tick.
	MissedSkip = "skip"
	// MissedRunOnce runs the latest missed tick once, at start, however
	// many were missed.
	MissedRunOnce = "run-once"
)

// missedPolicies are the values trigger.missed accepts.
var missedPolicies = []string{MissedSkip, MissedRunOnce}

// MaxTriggers is the most triggers one function may have.
const MaxTriggers = 16

// maxScheduleLength bounds a schedule, in bytes. A cron expression needs
// far less (every minute listed one by one is 169 bytes); the bound
// keeps deployed versions, which store the schedule, small.
const maxScheduleLength = 256

// scheduleDescriptors are the named schedules a manifest may use: those of
// crontab(5). @reboot is not among them, and neither is @every: both tick
// at times that depend on when the daemon started rather than on the
// clock, so there would be no fixed tick to run exactly once, nor any way
// to tell which ticks were missed.
var scheduleDescriptors = []string{"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}

// Key returns a name for the trigger that is stable across deploys and
// unique within its function, for naming the durable consumer of a topic
// trigger and the saved state of a schedule: "topic:orders.created", or
// "schedule:" followed by 12 hexadecimal digits of the SHA-256 of the
// schedule, "|" and the time zone. A schedule is hashed because its text
// holds spaces and '*', which such names cannot; changing the schedule or
// its zone gives a new key, and so a fresh state, since what was saved
// about the old ticks says nothing about the new ones.
//
// Parse refuses a manifest in which two triggers have the same key.
func (t Trigger) Key() string {
	if t.Topic != "" {
		return "topic:" + t.Topic
	}
	sum := sha256.Sum256([]byte(t.Schedule + "|" + t.Timezone))
	return "schedule:" + hex.EncodeToString(sum[:6])
}

// describe names the trigger for a message: topic "orders.created", or
// schedule "@daily" in Europe/Paris.
func (t Trigger) describe() string {
	if t.Topic != "" {
		return "topic " + quote(t.Topic)
	}
	return "schedule " + quote(t.Schedule) + " in " + t.Timezone
}

// A Schedule is a parsed cron schedule.
type Schedule interface {
	// Next returns the first time after t, to the second, at which the
	// clocks of the schedule's zone show a time the schedule matches, in
	// t's location; or the zero time if there is none in the five years
	// after t. (ParseSchedule refuses schedules that never fire, but one
	// for 29 February can go eight years without firing, around 2100.)
	//
	// So a tick that a change of clocks skips, such as 02:30 on the night
	// daylight saving time starts in Europe, does not fire that day, and
	// one that a change repeats, such as 02:30 on the night it ends, fires
	// twice, an hour apart.
	Next(t time.Time) time.Time
}

// ParseSchedule parses a schedule as a manifest's trigger writes it: the
// five standard cron fields (minute, hour, day of month, month, day of
// week, with names such as MON and JAN, ranges, lists and steps) or one of
// the descriptors @yearly, @annually, @monthly, @weekly, @daily, @midnight
// and @hourly, read in the time zone with the given IANA name ("UTC" for
// UTC). When both the day of the month and the day of the week are
// restricted, a day matching either fires, as in cron.
//
// It refuses what Parse refuses in a schedule: the time zone prefixes
// TZ= and CRON_TZ=, since the zone has its own field; @every, whose ticks
// depend on when counting started; the zone "Local", which depends on the
// machine; and schedules that never fire, such as one for 30 February.
func ParseSchedule(expr, timezone string) (Schedule, error) {
	loc, err := loadTimezone(timezone)
	if err != nil {
		return nil, err
	}
	spec, err := parseCron(expr)
	if err != nil {
		return nil, err
	}
	return zonedSchedule{spec: spec, loc: loc}, nil
}

// A zonedSchedule is a cron schedule read in a time zone.
//
// It does not hand the zone to package cron, whose search goes wrong
// around some changes of clocks: across a calendar day that a zone
// skipped altogether, as Samoa skipped 30 December 2011, it never returns,
// since adding a day to the midnight before gives that same midnight
// back; and after a change of half an hour, such as Lord Howe Island's,
// it can miss the next midnight. Between two changes, though, a zone's
// clocks are a fixed offset from UTC, which package cron handles exactly;
// so Next searches each of the zone's periods in turn, at its offset.
type zonedSchedule struct {
	spec *cron.SpecSchedule // in UTC
	loc  *time.Location
}

// searchHorizon is how far ahead Next looks: as far as package cron does,
// to the end of the fifth year after the search starts.
const searchHorizon = 6 * 366 * 24 * time.Hour

// Next implements Schedule.
func (s zonedSchedule) Next(t time.Time) time.Time {
	limit := t.Add(searchHorizon)
	from, period := t, t.In(s.loc)
	for from.Before(limit) {
		name, offset := period.Zone()
		_, end := period.ZoneBounds()
		fixed := *s.spec
		fixed.Location = time.FixedZone(name, offset)
		next := fixed.Next(from)
		switch {
		case next.IsZero():
			return time.Time{} // none in five years from a time after t
		case end.IsZero() || next.Before(end):
			return next.In(t.Location())
		}
		// Search the next period from its start, which Next considers
		// since it looks from the second after its argument.
		from, period = end.Add(-time.Nanosecond), end.In(s.loc)
	}
	return time.Time{}
}

// canonicalSchedule writes runs of white space in a schedule as one
// space, as the cron parser reads them, so that reformatting a manifest
// leaves its triggers' keys alone.
func canonicalSchedule(expr string) string {
	return strings.Join(strings.Fields(expr), " ")
}

// neverCheckFrom is when parseCron starts looking for a schedule's first
// tick. It is fixed, rather than the current time, so that whether a
// schedule is accepted does not depend on when it is parsed.
var neverCheckFrom = time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)

// parseCron parses a schedule, read in UTC.
func parseCron(expr string) (*cron.SpecSchedule, error) {
	expr = canonicalSchedule(expr)
	fields := strings.Fields(expr)
	switch {
	case expr == "":
		return nil, errors.New(`schedule is empty: write five cron fields, such as "*/5 * * * *", or a descriptor such as @hourly`)
	case len(expr) > maxScheduleLength:
		return nil, fmt.Errorf("schedule is %d bytes long; the maximum is %d", len(expr), maxScheduleLength)
	case strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ="):
		// Refused before the cron parser sees them: they are the zone
		// field said another way, and the parser panics on one that is
		// not followed by a space.
		return nil, fmt.Errorf("schedule %s names a time zone; set it in the timezone field instead", quote(expr))
	case fields[0] == "@every":
		return nil, fmt.Errorf(`schedule %s: @every is not supported, since its ticks depend on when the daemon started; write cron fields instead, such as "*/5 * * * *" for every five minutes`, quote(expr))
	case strings.HasPrefix(expr, "@"):
		if !slices.Contains(scheduleDescriptors, expr) {
			return nil, fmt.Errorf("unsupported schedule %s: use one of %s, or five cron fields", quote(expr), strings.Join(scheduleDescriptors, ", "))
		}
	case len(fields) != 5:
		return nil, fmt.Errorf("schedule %s has %d fields; cron has five: minute, hour, day of month, month and day of week", quote(expr), len(fields))
	}
	for _, f := range fields {
		// The parser skips empty list items, so "1,,2" would mean "1,2"
		// and "," would match nothing at all.
		if strings.Contains(","+f+",", ",,") {
			return nil, fmt.Errorf("invalid schedule %s: field %s has an empty list item", quote(expr), quote(f))
		}
	}
	s, err := cron.ParseStandard(expr)
	if err != nil {
		return nil, fmt.Errorf("invalid schedule %s: %v", quote(expr), err)
	}
	spec, ok := s.(*cron.SpecSchedule)
	if !ok { // only @every, refused above, parses to another type
		return nil, fmt.Errorf("invalid schedule %s", quote(expr))
	}
	spec.Location = time.UTC
	if spec.Next(neverCheckFrom).IsZero() {
		return nil, fmt.Errorf("schedule %s never fires: no date matches its day and month", quote(expr))
	}
	return spec, nil
}

// timezonePattern matches the form of IANA zone names, such as UTC,
// Europe/Paris, America/Argentina/Buenos_Aires and Etc/GMT+5. It keeps
// anything that could be read as a file path, such as "../x", away from
// time.LoadLocation, which looks names up in the file system.
var timezonePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$`)

// maxTimezoneLength is generous: the longest IANA name has 32 bytes.
const maxTimezoneLength = 64

// loadTimezone loads the zone with the given IANA name.
func loadTimezone(name string) (*time.Location, error) {
	const hint = "use an IANA name such as Europe/Paris or UTC"
	switch {
	case name == "":
		return nil, errors.New("time zone is empty; leave timezone out for UTC")
	case name == "Local":
		return nil, errors.New(`time zone "Local" is that of whichever machine runs the daemon; name the zone, such as Europe/Paris`)
	case len(name) > maxTimezoneLength || !timezonePattern.MatchString(name):
		return nil, fmt.Errorf("invalid time zone %s: %s", quote(name), hint)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %s: %s", quote(name), hint)
	}
	return loc, nil
}

func checkSchedule(s string) error {
	_, err := parseCron(s)
	return err
}

func checkTimezone(s string) error {
	_, err := loadTimezone(s)
	return err
}

func checkMissed(s string) error {
	if !slices.Contains(missedPolicies, s) {
		return fmt.Errorf("unsupported missed %s: use %s", quote(s), strings.Join(missedPolicies, " or "))
	}
	return nil
}

// triggers returns a decodeFunc for the list of triggers, which also
// refuses triggers with the same key as another.
func (d *decoder) triggers(dst *[]Trigger) decodeFunc {
	return uniqueList(d, dst, listRule[Trigger]{
		kind:     "a list of triggers",
		max:      MaxTriggers,
		tooMany:  "%d triggers; a function has at most %d",
		item:     d.trigger,
		key:      Trigger.Key,
		describe: Trigger.describe,
		dup:      "duplicate trigger: %s is already %s[%d] on line %d",
	})
}

// trigger decodes one trigger, reporting whether it is valid.
func (d *decoder) trigger(n *yaml.Node, path string) (t Trigger, ok bool) {
	before := len(d.errs)
	// The nodes of the fields present, to check that they fit together
	// whether or not their values were valid.
	var topic, schema, schedule, timezone, missed *yaml.Node
	seen := func(dst **yaml.Node, decode decodeFunc) decodeFunc {
		return func(v *yaml.Node, at string) {
			*dst = v
			decode(v, at)
		}
	}
	d.object(n, path, []field{
		{name: "topic", decode: seen(&topic, d.text(&t.Topic, checkTopic))},
		{name: "schema", decode: seen(&schema, d.schemaRef(&t.Schema))},
		{name: "schedule", decode: seen(&schedule, d.text(&t.Schedule, checkSchedule))},
		{name: "timezone", decode: seen(&timezone, d.text(&t.Timezone, checkTimezone))},
		{name: "missed", decode: seen(&missed, d.text(&t.Missed, checkMissed))},
	})
	t.Line = n.Line
	switch {
	case n.Kind != yaml.MappingNode || n.Anchor != "":
		// Not decoded: object has said why.
	case topic == nil && schedule == nil:
		d.errorf(n, path, "a trigger needs a topic or a schedule")
	case topic != nil && schedule != nil:
		d.errorf(n, path, "a trigger has a topic or a schedule, not both; write two triggers")
	case topic != nil:
		for _, f := range []struct {
			name string
			n    *yaml.Node
		}{{"timezone", timezone}, {"missed", missed}} {
			if f.n != nil {
				d.errorf(f.n, join(path, f.name), "%s applies only to a schedule trigger", f.name)
			}
		}
	default:
		if schema != nil {
			d.errorf(schema, join(path, "schema"), "schema applies only to a topic trigger: it checks the data of the topic's events")
		}
		t.Schedule = canonicalSchedule(t.Schedule)
		if t.Timezone == "" {
			t.Timezone = "UTC"
		}
		if t.Missed == "" {
			t.Missed = MissedSkip
		}
	}
	return t, len(d.errs) == before
}
