package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// request makes the i-th request of worker w; errEnough ends the worker.
type request func(w, i int) (*http.Request, error)

// errEnough, from a request, says the worker has no more to send.
var errEnough = errors.New("no more requests")

// result is one scenario's measurement.
type result struct {
	Scenario string  `json:"scenario"`
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	Refused  int     `json:"refused"` // 429/503 answers (overload refused fast)
	RPS      float64 `json:"req_per_s"`
	P50ms    float64 `json:"p50_ms"`
	P99ms    float64 `json:"p99_ms"`
	Ratio    float64 `json:"ratio_to_baseline"`
	Note     string  `json:"note,omitempty"` // the first error, if any
}

func newClient(conc int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost, t.MaxConnsPerHost = conc*2, conc*2, 0
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
}

// newSpreadClient is newClient with each connection from another loopback
// address (127.0.0.2 on; all of 127.0.0.0/8 is local on Linux), as logins
// from many people would come: the server gives one address only a share
// of its password-hashing pool. Where such an address cannot be used, the
// connection comes from the default one.
func newSpreadClient(conc int) *http.Client {
	c := newClient(conc)
	var n atomic.Uint32
	c.Transport.(*http.Transport).DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		ip := net.IPv4(127, 0, 0, byte(2+n.Add(1)%250))
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 5 * time.Second}
		if conn, err := d.DialContext(ctx, network, addr); err == nil {
			return conn, nil
		}
		return (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
	}
	return c
}

// run drives conc workers for d over keep-alive connections and measures
// every request. ok says which statuses count as success.
func run(ctx context.Context, name string, client *http.Client, conc int, d time.Duration, mk request, ok func(int) bool) result {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	res := result{Scenario: name}
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var mine []time.Duration
			var errs, refused int
			var firstErr string
			for i := 0; ctx.Err() == nil; i++ {
				req, err := mk(w, i)
				if errors.Is(err, errEnough) {
					break
				}
				if err != nil {
					errs++
					continue
				}
				t0 := time.Now()
				r, err := client.Do(req.WithContext(ctx))
				if err != nil {
					if ctx.Err() == nil {
						errs++
						firstErr = cmp.Or(firstErr, err.Error())
					}
					continue
				}
				_, _ = io.Copy(io.Discard, r.Body)
				r.Body.Close()
				el := time.Since(t0)
				switch {
				case ok(r.StatusCode):
					mine = append(mine, el)
				case r.StatusCode == 429 || r.StatusCode == 503:
					refused++
				default:
					errs++
					firstErr = cmp.Or(firstErr, fmt.Sprintf("%s %s: %d", req.Method, req.URL.Path, r.StatusCode))
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			res.Errors += errs
			res.Refused += refused
			res.Note = cmp.Or(res.Note, firstErr)
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	el := time.Since(start)
	slices.Sort(lat)
	res.Requests = len(lat)
	res.RPS = float64(len(lat)) / el.Seconds()
	res.P50ms, res.P99ms = pct(lat, 0.50), pct(lat, 0.99)
	return res
}

func pct(lat []time.Duration, p float64) float64 {
	if len(lat) == 0 {
		return 0
	}
	i := int(float64(len(lat)-1) * p)
	return float64(lat[i].Microseconds()) / 1000
}

func status2xx(c int) bool { return c >= 200 && c < 300 }

func jsonRequest(method, url, bearer string, body []byte) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	r, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	return r, nil
}
