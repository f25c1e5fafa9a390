package manifest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseTriggers(t *testing.T) {
	const src = `name: orders
owner: team-shop
triggers:
  - topic: orders.created
    schema: schemas/order.json
  - topic: orders.cancelled
    schema:
      type: object
      required: [id]
  - topic: audit
  - schedule: "*/5 * * * *"
    timezone: Europe/Paris
    missed: run-once
  - schedule: "  0  9 * *   MON-FRI "
  - schedule: "*/5 * * * *"
  - schedule: "@daily"
    missed: skip
  - schedule: |
      30 2 1 * *
`
	m, err := Parse("pave.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []Trigger{
		{Topic: "orders.created", Schema: &SchemaRef{File: "schemas/order.json", Line: 5, Column: 13}, Line: 4},
		{Topic: "orders.cancelled", Schema: &SchemaRef{Inline: []byte(`{"required":["id"],"type":"object"}`), Line: 8, Column: 7}, Line: 6},
		{Topic: "audit", Line: 10},
		{Schedule: "*/5 * * * *", Timezone: "Europe/Paris", Missed: MissedRunOnce, Line: 11},
		// Runs of white space are written as one space; the zone and the
		// policy for missed ticks take their defaults.
		{Schedule: "0 9 * * MON-FRI", Timezone: "UTC", Missed: MissedSkip, Line: 14},
		// The same schedule as triggers[3], but in another zone.
		{Schedule: "*/5 * * * *", Timezone: "UTC", Missed: MissedSkip, Line: 15},
		{Schedule: "@daily", Timezone: "UTC", Missed: MissedSkip, Line: 16},
		{Schedule: "30 2 1 * *", Timezone: "UTC", Missed: MissedSkip, Line: 18},
	}
	if !reflect.DeepEqual(m.Triggers, want) {
		t.Errorf("Triggers =\n%s\nwant\n%s", dumpTriggers(m.Triggers), dumpTriggers(want))
	}
	if !reflect.DeepEqual(m.Async, DefaultAsync()) {
		t.Errorf("Async = %+v, want the defaults %+v", m.Async, DefaultAsync())
	}
}

// dumpTriggers formats triggers for a failure message, schemas included.
func dumpTriggers(ts []Trigger) string {
	var b strings.Builder
	for _, t := range ts {
		fmt.Fprintf(&b, "  %+v", t)
		if t.Schema != nil {
			fmt.Fprintf(&b, " schema %+v inline %s", *t.Schema, t.Schema.Inline)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func TestParseTriggerErrors(t *testing.T) {
	const head = "name: a\nowner: o\ntriggers:\n"
	var tooMany strings.Builder
	tooMany.WriteString(head)
	for i := range MaxTriggers + 1 {
		fmt.Fprintf(&tooMany, "  - topic: t%d\n", i)
	}
	tests := []struct {
		name string
		src  string
		want []wantErr
	}{
		// The list and its entries.
		{"triggers is a mapping", head + "  topic: a\n", []wantErr{
			{4, "triggers", "expected a list of triggers, found a mapping"},
		}},
		{"triggers is null", head, []wantErr{
			{3, "triggers", "expected a list of triggers, found null"},
		}},
		{"too many triggers", tooMany.String(), []wantErr{
			{4, "triggers", "17 triggers; a function has at most 16"},
		}},
		{"trigger is a string", head + "  - orders.created\n", []wantErr{
			{4, "triggers[0]", `expected a mapping, found string "orders.created"`},
		}},
		{"trigger with an anchor", head + "  - &t {topic: a}\n", []wantErr{
			{4, "triggers[0]", "anchors (&t) are not allowed"},
		}},
		{"unknown trigger field", head + "  - topc: a\n", []wantErr{
			{4, "triggers[0]", `unknown field "topc"; did you mean "topic"?`},
			{4, "triggers[0]", "a trigger needs a topic or a schedule"},
		}},
		{"neither topic nor schedule", head + "  - missed: skip\n", []wantErr{
			{4, "triggers[0]", "a trigger needs a topic or a schedule"},
		}},
		{"empty trigger", head + "  - {}\n", []wantErr{
			{4, "triggers[0]", "a trigger needs a topic or a schedule"},
		}},
		{"both topic and schedule", head + "  - topic: a\n    schedule: \"@daily\"\n", []wantErr{
			{4, "triggers[0]", "a trigger has a topic or a schedule, not both; write two triggers"},
		}},
		{"duplicate field", head + "  - topic: a\n    topic: b\n", []wantErr{
			{5, "triggers[0]", `duplicate field "topic"; it is already set on line 4`},
		}},

		// Topic triggers.
		{"invalid topic", head + "  - topic: Orders.Created\n", []wantErr{
			{4, "triggers[0].topic", `invalid topic "Orders.Created": dot-separated lowercase words such as orders.created`},
		}},
		{"topic wildcard", head + "  - topic: \"orders.*\"\n", []wantErr{
			{4, "triggers[0].topic", `invalid topic "orders.*": dot-separated lowercase words such as orders.created`},
		}},
		{"topic is a list", head + "  - topic: [a, b]\n", []wantErr{
			{4, "triggers[0].topic", "expected a string, found a list"},
		}},
		{"duplicate topic", head + "  - topic: orders.created\n  - topic: audit\n  - topic: orders.created\n    schema: {type: object}\n", []wantErr{
			{6, "triggers[2]", `duplicate trigger: topic "orders.created" is already triggers[0] on line 4`},
		}},
		{"timezone on a topic", head + "  - topic: a\n    timezone: UTC\n", []wantErr{
			{5, "triggers[0].timezone", "timezone applies only to a schedule trigger"},
		}},
		{"missed on a topic", head + "  - topic: a\n    missed: run-once\n", []wantErr{
			{5, "triggers[0].missed", "missed applies only to a schedule trigger"},
		}},
		{"schema file escaping", head + "  - topic: a\n    schema: ../order.json\n", []wantErr{
			{5, "triggers[0].schema", `schema file "../order.json" must be a clean relative path inside the manifest's directory`},
		}},
		{"schema is a list", head + "  - topic: a\n    schema: [1]\n", []wantErr{
			{5, "triggers[0].schema", "expected a schema (a mapping) or the name of a .json file next to the manifest, found a list"},
		}},
		{"schema with an alias", head + "  - topic: a\n    schema: {type: &t object, title: *t}\n", []wantErr{
			{5, "triggers[0].schema.type", "anchors (&t) are not allowed"},
			{5, "triggers[0].schema.title", "aliases (*t) are not allowed; write the value out"},
		}},

		// Schedule triggers.
		{"schema on a schedule", head + "  - schedule: \"@hourly\"\n    schema: {type: object}\n", []wantErr{
			{5, "triggers[0].schema", "schema applies only to a topic trigger: it checks the data of the topic's events"},
		}},
		{"schedule is an integer", head + "  - schedule: 5\n", []wantErr{
			{4, "triggers[0].schedule", "expected a string, found integer 5"},
		}},
		{"schedule empty", head + "  - schedule: \" \"\n", []wantErr{
			{4, "triggers[0].schedule", `schedule is empty: write five cron fields, such as "*/5 * * * *", or a descriptor such as @hourly`},
		}},
		{"schedule with seconds", head + "  - schedule: \"0 */5 * * * *\"\n", []wantErr{
			{4, "triggers[0].schedule", `schedule "0 */5 * * * *" has 6 fields; cron has five: minute, hour, day of month, month and day of week`},
		}},
		{"schedule too short", head + "  - schedule: \"* * * *\"\n", []wantErr{
			{4, "triggers[0].schedule", `schedule "* * * *" has 4 fields; cron has five: minute, hour, day of month, month and day of week`},
		}},
		{"schedule too long", head + "  - schedule: \"" + strings.Repeat("1,", 200) + "1 * * * *\"\n", []wantErr{
			{4, "triggers[0].schedule", "schedule is 409 bytes long; the maximum is 256"},
		}},
		{"schedule every", head + "  - schedule: \"@every 1m\"\n", []wantErr{
			{4, "triggers[0].schedule", `schedule "@every 1m": @every is not supported, since its ticks depend on when the daemon started; write cron fields instead, such as "*/5 * * * *" for every five minutes`},
		}},
		{"schedule reboot", head + "  - schedule: \"@reboot\"\n", []wantErr{
			{4, "triggers[0].schedule", `unsupported schedule "@reboot": use one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, or five cron fields`},
		}},
		{"schedule descriptor in upper case", head + "  - schedule: \"@DAILY\"\n", []wantErr{
			{4, "triggers[0].schedule", `unsupported schedule "@DAILY": use one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, or five cron fields`},
		}},
		{"schedule with TZ", head + "  - schedule: \"TZ=Europe/Paris 0 9 * * *\"\n", []wantErr{
			{4, "triggers[0].schedule", `schedule "TZ=Europe/Paris 0 9 * * *" names a time zone; set it in the timezone field instead`},
		}},
		{"schedule with CRON_TZ and nothing after", head + "  - schedule: CRON_TZ=UTC\n", []wantErr{
			{4, "triggers[0].schedule", `schedule "CRON_TZ=UTC" names a time zone; set it in the timezone field instead`},
		}},
		{"schedule minute out of range", head + "  - schedule: \"60 * * * *\"\n", []wantErr{
			{4, "triggers[0].schedule", `invalid schedule "60 * * * *": end of range (60) above maximum (59): 60`},
		}},
		{"schedule step zero", head + "  - schedule: \"*/0 * * * *\"\n", []wantErr{
			{4, "triggers[0].schedule", `invalid schedule "*/0 * * * *": step of range should be a positive number: */0`},
		}},
		{"schedule empty list item", head + "  - schedule: \"0 9,,17 * * *\"\n", []wantErr{
			{4, "triggers[0].schedule", `invalid schedule "0 9,,17 * * *": field "9,,17" has an empty list item`},
		}},
		{"schedule of commas", head + "  - schedule: \", * * * *\"\n", []wantErr{
			{4, "triggers[0].schedule", `invalid schedule ", * * * *": field "," has an empty list item`},
		}},
		{"schedule never firing", head + "  - schedule: \"0 0 30 2 *\"\n", []wantErr{
			{4, "triggers[0].schedule", `schedule "0 0 30 2 *" never fires: no date matches its day and month`},
		}},
		{"duplicate schedule", head + "  - schedule: \"0 9 * * *\"\n  - schedule: \"0  9 * * *\"\n    timezone: UTC\n", []wantErr{
			{5, "triggers[1]", `duplicate trigger: schedule "0 9 * * *" in UTC is already triggers[0] on line 4`},
		}},
		{"duplicate schedule in a zone", head + "  - {schedule: \"@daily\", timezone: Asia/Tokyo}\n  - {schedule: \"@daily\", timezone: Asia/Tokyo, missed: run-once}\n", []wantErr{
			{5, "triggers[1]", `duplicate trigger: schedule "@daily" in Asia/Tokyo is already triggers[0] on line 4`},
		}},
		{"timezone Local", head + "  - schedule: \"@daily\"\n    timezone: Local\n", []wantErr{
			{5, "triggers[0].timezone", `time zone "Local" is that of whichever machine runs the daemon; name the zone, such as Europe/Paris`},
		}},
		{"timezone unknown", head + "  - schedule: \"@daily\"\n    timezone: Europe/Pariss\n", []wantErr{
			{5, "triggers[0].timezone", `unknown time zone "Europe/Pariss": use an IANA name such as Europe/Paris or UTC`},
		}},
		{"timezone a path", head + "  - schedule: \"@daily\"\n    timezone: ../../etc/passwd\n", []wantErr{
			{5, "triggers[0].timezone", `invalid time zone "../../etc/passwd": use an IANA name such as Europe/Paris or UTC`},
		}},
		{"timezone an offset", head + "  - schedule: \"@daily\"\n    timezone: \"+02:00\"\n", []wantErr{
			{5, "triggers[0].timezone", `invalid time zone "+02:00": use an IANA name such as Europe/Paris or UTC`},
		}},
		{"timezone empty", head + "  - schedule: \"@daily\"\n    timezone: \"\"\n", []wantErr{
			{5, "triggers[0].timezone", "time zone is empty; leave timezone out for UTC"},
		}},
		{"timezone is null", head + "  - schedule: \"@daily\"\n    timezone:\n", []wantErr{
			{5, "triggers[0].timezone", "expected a string, found null"},
		}},
		{"missed unknown", head + "  - schedule: \"@daily\"\n    missed: all\n", []wantErr{
			{5, "triggers[0].missed", `unsupported missed "all": use skip or run-once`},
		}},
		{"missed is a boolean", head + "  - schedule: \"@daily\"\n    missed: false\n", []wantErr{
			{5, "triggers[0].missed", "expected a string, found boolean false"},
		}},

		// Every problem of every trigger, in order.
		{"several problems", head + "  - schedule: \"0 0 31 4 *\"\n    timezone: Mars/Olympus\n    missed: twice\n  - topic: A\n    timezone: UTC\n", []wantErr{
			{4, "triggers[0].schedule", `schedule "0 0 31 4 *" never fires: no date matches its day and month`},
			{5, "triggers[0].timezone", `unknown time zone "Mars/Olympus": use an IANA name such as Europe/Paris or UTC`},
			{6, "triggers[0].missed", `unsupported missed "twice": use skip or run-once`},
			{7, "triggers[1].topic", `invalid topic "A": dot-separated lowercase words such as orders.created`},
			{8, "triggers[1].timezone", "timezone applies only to a schedule trigger"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse("pave.yaml", []byte(tt.src))
			if m != nil {
				t.Fatalf("Parse returned a manifest along with errors: %+v", m.Triggers)
			}
			checkErrors(t, err, tt.want)
		})
	}
}

func TestParseMostTriggers(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: a\nowner: o\ntriggers:\n")
	for i := range MaxTriggers / 2 {
		fmt.Fprintf(&b, "  - topic: t%d\n  - schedule: \"%d * * * *\"\n", i, i)
	}
	m, err := Parse("pave.yaml", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Triggers) != MaxTriggers {
		t.Errorf("got %d triggers, want %d", len(m.Triggers), MaxTriggers)
	}
}

func TestTriggerKey(t *testing.T) {
	tests := []struct {
		t    Trigger
		want string
	}{
		{Trigger{Topic: "orders.created"}, "topic:orders.created"},
		{Trigger{Topic: "orders.created", Schema: &SchemaRef{File: "o.json"}}, "topic:orders.created"},
		// Keys name saved state, so they must never change: these are
		// the first 12 hexadecimal digits of the SHA-256 of
		// "*/5 * * * *|UTC" and of "0 9 * * MON-FRI|Europe/Paris".
		{Trigger{Schedule: "*/5 * * * *", Timezone: "UTC", Missed: MissedSkip}, "schedule:07548ceefe99"},
		{Trigger{Schedule: "*/5 * * * *", Timezone: "UTC", Missed: MissedRunOnce}, "schedule:07548ceefe99"},
		{Trigger{Schedule: "0 9 * * MON-FRI", Timezone: "Europe/Paris"}, "schedule:5945de30fcbe"},
	}
	for _, tt := range tests {
		if got := tt.t.Key(); got != tt.want {
			t.Errorf("%+v.Key() = %q, want %q", tt.t, got, tt.want)
		}
	}

	// Parse gives a schedule its canonical text, so its key survives
	// reformatting.
	m, err := Parse("pave.yaml", []byte("name: a\nowner: o\ntriggers:\n  - schedule: \"  */5\t*  * * * \"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Triggers[0].Key(); got != "schedule:07548ceefe99" {
		t.Errorf("Key() of a reformatted schedule = %q, want %q", got, "schedule:07548ceefe99")
	}
}

func TestParseSchedule(t *testing.T) {
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		expr, zone string
		after      string // RFC 3339
		want       string // RFC 3339, in UTC
	}{
		{"*/5 * * * *", "UTC", "2024-05-01T10:02:30Z", "2024-05-01T10:05:00Z"},
		{"*/5 * * * *", "UTC", "2024-05-01T10:05:00Z", "2024-05-01T10:10:00Z"}, // strictly after
		{"0 9 * * MON-FRI", "UTC", "2024-05-03T09:00:00Z", "2024-05-06T09:00:00Z"},
		{"0 9 * * mon-fri", "UTC", "2024-05-03T09:00:00Z", "2024-05-06T09:00:00Z"},
		{"0 0 1 JAN *", "UTC", "2024-05-01T00:00:00Z", "2025-01-01T00:00:00Z"},
		{"0 12 ? * ?", "UTC", "2024-05-01T12:00:00Z", "2024-05-02T12:00:00Z"},
		// A restricted day of the month or of the week fires either way.
		{"0 0 13 * FRI", "UTC", "2024-05-01T00:00:00Z", "2024-05-03T00:00:00Z"},
		{"0 0 29 2 *", "UTC", "2024-03-01T00:00:00Z", "2028-02-29T00:00:00Z"},
		{"@hourly", "UTC", "2024-05-01T10:00:00Z", "2024-05-01T11:00:00Z"},
		{"@daily", "UTC", "2024-05-01T10:00:00Z", "2024-05-02T00:00:00Z"},
		{"@midnight", "UTC", "2024-05-01T10:00:00Z", "2024-05-02T00:00:00Z"},
		{"@weekly", "UTC", "2024-05-01T10:00:00Z", "2024-05-05T00:00:00Z"}, // a Sunday
		{"@monthly", "UTC", "2024-05-01T10:00:00Z", "2024-06-01T00:00:00Z"},
		{"@yearly", "UTC", "2024-05-01T10:00:00Z", "2025-01-01T00:00:00Z"},
		{"@annually", "UTC", "2024-05-01T10:00:00Z", "2025-01-01T00:00:00Z"},
		// The zone decides the hour, through changes of daylight saving
		// time: Paris is at UTC+1 until 31 March 2024, 02:00, then UTC+2.
		{"30 9 * * *", "Europe/Paris", "2024-03-30T12:00:00Z", "2024-03-31T07:30:00Z"},
		{"30 9 * * *", "Europe/Paris", "2024-03-29T12:00:00Z", "2024-03-30T08:30:00Z"},
		// Lord Howe Island puts its clocks back by half an hour.
		{"0 0 * * *", "Australia/Lord_Howe", "2016-04-02T13:14:00Z", "2016-04-03T13:30:00Z"},
		// A tick in the hour the clocks skip does not fire that day; one in
		// the hour they repeat fires in both.
		{"30 2 * * *", "Europe/Paris", "2024-03-30T12:00:00Z", "2024-04-01T00:30:00Z"},
		{"30 2 * * *", "Europe/Paris", "2024-10-27T00:00:00Z", "2024-10-27T00:30:00Z"},
		{"30 2 * * *", "Europe/Paris", "2024-10-27T00:30:00Z", "2024-10-27T01:30:00Z"},
		// Samoa skipped Friday 30 December 2011, moving from UTC-10 to
		// UTC+14 (a search across that day hangs in package cron).
		{"0 0 13 * FRI", "Pacific/Apia", "2011-12-28T10:00:00Z", "2012-01-05T10:00:00Z"},
		{"0 12 * * *", "Pacific/Apia", "2011-12-29T23:00:00Z", "2011-12-30T22:00:00Z"},
		{"0 12 * * *", "Pacific/Apia", "2011-12-28T23:00:00Z", "2011-12-29T22:00:00Z"},
		{"@daily", "Asia/Tokyo", "2024-05-01T10:00:00Z", "2024-05-01T15:00:00Z"},
		{"0 0 * * *", "Etc/GMT+5", "2024-05-01T10:00:00Z", "2024-05-02T05:00:00Z"},
	}
	for _, tt := range tests {
		s, err := ParseSchedule(tt.expr, tt.zone)
		if err != nil {
			t.Errorf("ParseSchedule(%q, %q): %v", tt.expr, tt.zone, err)
			continue
		}
		after := utc(tt.after)
		got := s.Next(after)
		if want := utc(tt.want); !got.Equal(want) {
			t.Errorf("ParseSchedule(%q, %q).Next(%s) = %s, want %s", tt.expr, tt.zone, tt.after, got.UTC().Format(time.RFC3339), tt.want)
		}
		if got.Location() != after.Location() {
			t.Errorf("ParseSchedule(%q, %q).Next returned a time in %v, want %v", tt.expr, tt.zone, got.Location(), after.Location())
		}
	}

	// ParseSchedule refuses what Parse refuses, with the same messages.
	for _, tt := range []struct{ expr, zone, want string }{
		{"@daily", "Local", `time zone "Local" is that of whichever machine runs the daemon; name the zone, such as Europe/Paris`},
		{"@daily", "", "time zone is empty; leave timezone out for UTC"},
		{"@daily", "Nowhere/Else", `unknown time zone "Nowhere/Else": use an IANA name such as Europe/Paris or UTC`},
		{"@every 5m", "UTC", `schedule "@every 5m": @every is not supported, since its ticks depend on when the daemon started; write cron fields instead, such as "*/5 * * * *" for every five minutes`},
		{"TZ=UTC", "UTC", `schedule "TZ=UTC" names a time zone; set it in the timezone field instead`},
		{"0 0 31 2,4,6,9,11 *", "UTC", `schedule "0 0 31 2,4,6,9,11 *" never fires: no date matches its day and month`},
		{"", "UTC", `schedule is empty: write five cron fields, such as "*/5 * * * *", or a descriptor such as @hourly`},
	} {
		if s, err := ParseSchedule(tt.expr, tt.zone); err == nil || err.Error() != tt.want {
			t.Errorf("ParseSchedule(%q, %q) = %v, %v; want the error %q", tt.expr, tt.zone, s, err, tt.want)
		}
	}
}

func TestTriggersJSON(t *testing.T) {
	// Deployed versions are stored as JSON: triggers must survive it, all
	// but an inline schema's text, which is kept by digest instead.
	m, err := Parse("pave.yaml", []byte(`name: a
owner: o
triggers:
  - topic: orders.created
    schema: {type: object}
  - schedule: "0 9 * * *"
    timezone: Europe/Paris
    missed: run-once
`))
	if err != nil {
		t.Fatal(err)
	}
	m.Triggers[0].Schema.Digest = "sha256:00"
	text, err := json.Marshal(m.Triggers)
	if err != nil {
		t.Fatal(err)
	}
	const want = `[{"topic":"orders.created","schema":{"digest":"sha256:00","line":5,"column":13},"line":4},` +
		`{"schedule":"0 9 * * *","timezone":"Europe/Paris","missed":"run-once","line":6}]`
	if string(text) != want {
		t.Errorf("JSON =\n%s\nwant\n%s", text, want)
	}
	var back []Trigger
	if err := json.Unmarshal(text, &back); err != nil {
		t.Fatal(err)
	}
	m.Triggers[0].Schema.Inline = nil
	if !reflect.DeepEqual(back, m.Triggers) {
		t.Errorf("after a round trip through JSON:\n%s\nwant\n%s", dumpTriggers(back), dumpTriggers(m.Triggers))
	}
}

func TestAllSchemaRefs(t *testing.T) {
	m, err := Parse("pave.yaml", []byte(`name: a
owner: o
triggers:
  - topic: a
    schema: a.json
  - topic: b
  - schedule: "@daily"
  - topic: c
    schema: {type: object}
routes:
  - method: POST
    path: /x
    schema: {body: body.json, query: {type: object}}
  - method: GET
    path: /y
  - method: PUT
    path: /z
    schema: {query: query.json}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []*SchemaRef{
		m.Routes[0].Schema.Body, m.Routes[0].Schema.Query, m.Routes[2].Schema.Query,
		m.Triggers[0].Schema, m.Triggers[3].Schema,
	}
	got := m.AllSchemaRefs()
	if len(got) != len(want) {
		t.Fatalf("AllSchemaRefs returned %d schemas, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] { // the manifest's own, not copies
			t.Errorf("AllSchemaRefs()[%d] = %+v, want the schema at line %d", i, got[i], want[i].Line)
		}
	}
	if refs := (&Manifest{}).AllSchemaRefs(); refs != nil {
		t.Errorf("AllSchemaRefs of an empty manifest = %v", refs)
	}
}

func TestScheduleAcrossClockChanges(t *testing.T) {
	// Next must find the first minute at which the zone's clocks show a
	// time the schedule matches, as a search minute by minute finds it,
	// whatever the changes of clocks in between: daylight saving time
	// starting and ending at 02:00 or at midnight, half-hour changes, and
	// a calendar day skipped altogether.
	zones := []string{
		// At 02:00 or 03:00.
		"Europe/Paris", "America/New_York",
		// At midnight.
		"America/Santiago", "America/Havana", "America/Sao_Paulo", "Asia/Tehran",
		// By half an hour.
		"Australia/Lord_Howe",
		// Four times in some years, around Ramadan.
		"Africa/Casablanca",
		// From UTC-10 to UTC+14, skipping 30 December 2011.
		"Pacific/Apia",
	}
	schedules := []struct {
		expr    string
		matches func(hour, minute int) bool
	}{
		{"*/5 * * * *", func(h, m int) bool { return m%5 == 0 }},
		{"0 0 * * *", func(h, m int) bool { return h == 0 && m == 0 }},
		{"30 0 * * *", func(h, m int) bool { return h == 0 && m == 30 }},
		{"0 2 * * *", func(h, m int) bool { return h == 2 && m == 0 }},
		{"30 2 * * *", func(h, m int) bool { return h == 2 && m == 30 }},
		{"59 1 * * *", func(h, m int) bool { return h == 1 && m == 59 }},
		{"45 23 * * *", func(h, m int) bool { return h == 23 && m == 45 }},
		{"15 */3 * * *", func(h, m int) bool { return h%3 == 0 && m == 15 }},
	}
	for _, zone := range zones {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		changes := clockChanges(loc, 2011, 2017)
		if len(changes) == 0 {
			t.Fatalf("%s: no changes of clocks from 2011 to 2017", zone)
		}
		for _, change := range changes {
			for _, sc := range schedules {
				s, err := ParseSchedule(sc.expr, zone)
				if err != nil {
					t.Fatal(err)
				}
				// From a day before the change to a day after, at times
				// that fall on every minute of the hour in turn.
				for from := change.Add(-26 * time.Hour); from.Before(change.Add(26 * time.Hour)); from = from.Add(97 * time.Minute) {
					want := from.Truncate(time.Minute).Add(time.Minute)
					for local := want.In(loc); !sc.matches(local.Hour(), local.Minute()); local = want.In(loc) {
						want = want.Add(time.Minute)
					}
					if got := s.Next(from); !got.Equal(want) {
						t.Fatalf("%q in %s: Next(%v) = %v, want %v", sc.expr, zone, from.In(loc), got.In(loc), want.In(loc))
					}
				}
			}
		}
	}
}

// clockChanges returns the times at which the clocks of loc change, from
// the start of the first year to the start of the last.
func clockChanges(loc *time.Location, first, last int) []time.Time {
	var out []time.Time
	until := time.Date(last, time.January, 1, 0, 0, 0, 0, loc)
	for t := time.Date(first, time.January, 1, 0, 0, 0, 0, loc); ; {
		_, end := t.ZoneBounds()
		if end.IsZero() || !end.Before(until) {
			return out
		}
		out = append(out, end)
		t = end
	}
}
