package stack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Answer is one API answer.
type Answer struct {
	Status int
	Raw    string
	JSON   map[string]any
	List   []any
}

// Do sends one request to the API through the published port.
func (s *Stack) Do(t testing.TB, method, path, token string, body any) Answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := Answer{Status: resp.StatusCode, Raw: string(raw)}
	_ = json.Unmarshal(raw, &a.JSON)
	_ = json.Unmarshal(raw, &a.List)
	return a
}

// Want fails the test unless the answer has the status.
func (a Answer) Want(t testing.TB, status int, what string) Answer {
	t.Helper()
	if a.Status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, a.Status, status, a.Raw)
	}
	return a
}

// Str is a string field of the answer.
func (a Answer) Str(key string) string {
	v, _ := a.JSON[key].(string)
	return v
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

// MailCode reads the newest mail to addr from the mail catcher's API and
// returns the 6-digit code in it, waiting for it up to 30 s. Mails that
// arrived before since are ignored.
func (s *Stack) MailCode(t testing.TB, addr string, since time.Time) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var list struct {
			Messages []struct {
				ID      string
				Created time.Time
				To      []struct{ Address string }
			} `json:"messages"`
		}
		if err := getJSON(s.MailpitURL+"/api/v1/search?query="+url.QueryEscape("to:"+addr), &list); err != nil {
			t.Fatalf("mailpit search: %v", err)
		}
		for _, m := range list.Messages { // newest first
			if m.Created.Before(since.Add(-time.Second)) {
				break
			}
			var msg struct{ Text string }
			if err := getJSON(s.MailpitURL+"/api/v1/message/"+m.ID, &msg); err != nil {
				t.Fatalf("mailpit message: %v", err)
			}
			if code := sixDigits.FindString(msg.Text); code != "" {
				return code
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("no mail with a code to %s within 30 s", addr)
	return ""
}

func getJSON(u string, v any) error {
	r, err := http.Get(u)
	if err != nil {
		return err
	}
	defer r.Body.Close()
	if r.StatusCode != 200 {
		b, _ := io.ReadAll(r.Body)
		return fmt.Errorf("GET %s: %d %s", u, r.StatusCode, strings.TrimSpace(string(b)))
	}
	return json.NewDecoder(r.Body).Decode(v)
}
