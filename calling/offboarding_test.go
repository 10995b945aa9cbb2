package calling

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestScrubEventBody(t *testing.T) {
	written := func(a EventAgent) string {
		b, err := json.Marshal(map[string]any{"type": "agent.calling_ability.changed", "timestamp": "2026-11-25T08:49:43.182Z",
			"data": AbilityChangedData{Agent: a, Deleted: true, AbilityState: AbilityState{Version: 4}}})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	zoe := EventAgent{ID: "QWdlbnQ6Nw", Email: "zoë.o'brien+calls@example.com", Name: "Zoë <O'Brien> & Co"}
	cases := []struct {
		name, body string
		changed    bool
	}{
		{"AsWritten", written(zoe), true},
		{"OtherSpacing", `{"type":"agent.calling_ability.changed","data":{ "agent" : {"name":"Zoë <O'Brien> & Co", "id":"QWdlbnQ6Nw","email":"zoë.o'brien+calls@example.com"}, "version":4}}`, true},
		{"AlreadyBlank", written(EventAgent{ID: zoe.ID}), false},
		{"NoAgent", `{"type":"webhook.test","data":{"endpointId":"V2ViaG9va0VuZHBvaW50OjE"}}`, false},
	}
	for i, tc := range cases {
		got, changed, err := scrubEventBody(tc.body)
		if err != nil {
			t.Fatalf("#%d %s: %v", i, tc.name, err)
		}
		if changed != tc.changed {
			t.Errorf("#%d %s: changed = %v, want %v", i, tc.name, changed, tc.changed)
		}
		for _, gone := range []string{"Zo", "brien", "O\\u0027Brien", "example.com"} {
			if strings.Contains(got, gone) {
				t.Errorf("#%d %s: %q left in %s", i, tc.name, gone, got)
			}
		}
		var doc struct {
			Data struct {
				Agent   EventAgent
				Version int
			}
		}
		if err := json.Unmarshal([]byte(got), &doc); err != nil || !json.Valid([]byte(got)) {
			t.Fatalf("#%d %s: not JSON: %s (%v)", i, tc.name, got, err)
		}
		if tc.changed && (doc.Data.Agent.ID != zoe.ID || doc.Data.Version != 4) {
			t.Errorf("#%d %s: the rest of the body changed: %s", i, tc.name, got)
		}
		if !tc.changed && got != tc.body {
			t.Errorf("#%d %s: body rewritten: %s", i, tc.name, got)
		}
	}
}
