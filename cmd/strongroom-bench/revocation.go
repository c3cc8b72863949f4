package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"time"
)

// revocation measures how long a session ended on one server stays
// accepted by another server on the same store: a second server is
// started on the same data dir (SQLite, shared by both processes), and
// each round logs in on the first, checks the token on the second, logs
// out on the first, then asks the second every millisecond until it
// refuses the token.
func (s *scenarios) revocation(ctx context.Context, bin string, env []string) error {
	rounds := 20
	if s.o.short {
		rounds = 3
	}
	second, err := startStrongroom(bin, s.srv.cmd.Dir, env)
	if err != nil {
		return err
	}
	defer second.stop()
	// From an address of its own (the spread clients of the login
	// scenarios use 127.0.0.2 to .251, the flood 127.0.0.1): the per-address
	// login limit, counted in the store, is not what this measures.
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 254)}, Timeout: 5 * time.Second}).DialContext}}
	status := func(method, addr, path, tok string, body []byte) (int, []byte, error) {
		req, err := jsonRequest(method, "http://"+addr+path, tok, body)
		if err != nil {
			return 0, nil, err
		}
		res, err := c.Do(req.WithContext(ctx))
		if err != nil {
			return 0, nil, err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b, nil
	}
	var delays []time.Duration
	for i := range rounds {
		code, b, err := status("POST", s.srv.Addr, "/login", "", loginBody(s.users.name(i%s.users.len())))
		if err != nil || code != 200 {
			return fmt.Errorf("login: %d %v", code, err)
		}
		var t struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.Unmarshal(b, &t)
		if code, _, err := status("GET", second.Addr, "/sensitive-data", t.AccessToken, nil); err != nil || code != 200 {
			return fmt.Errorf("the second server refuses a live token: %d %v", code, err)
		}
		if code, _, err := status("POST", s.srv.Addr, "/logout", t.AccessToken, nil); err != nil || code != 200 {
			return fmt.Errorf("logout: %d %v", code, err)
		}
		start := time.Now()
		for {
			code, _, err := status("GET", second.Addr, "/sensitive-data", t.AccessToken, nil)
			if err != nil {
				return err
			}
			if code == 401 {
				break
			}
			if time.Since(start) > 10*time.Second {
				return fmt.Errorf("the second server still accepts an ended session after 10 s")
			}
			time.Sleep(time.Millisecond)
		}
		delays = append(delays, time.Since(start))
	}
	sort.Slice(delays, func(i, j int) bool { return delays[i] < delays[j] })
	ms := func(d time.Duration) float64 { return round(d.Seconds() * 1000) }
	p50, worst := delays[len(delays)/2], delays[len(delays)-1]
	s.rep.Measured["revocation_rounds"] = rounds
	s.rep.Measured["revocation_p50_ms"] = ms(p50)
	s.rep.Measured["revocation_max_ms"] = ms(worst)
	fmt.Fprintf(os.Stderr, "%-40s p50 %6.1f ms  max %6.1f ms  (%d rounds)\n", "session ended on A, refused by B", ms(p50), ms(worst), rounds)
	s.verdict("ended session refused by another server (max ms)", ms(worst), 1000, "<=", "%.1f")
	return nil
}
