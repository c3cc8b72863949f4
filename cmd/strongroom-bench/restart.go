package main

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// restartWindow is how long the reads after a restart are measured.
const restartWindow = 10 * time.Second

// restart measures what a restart costs the readers: after the steady
// reads, the server is stopped and started again on the same data dir (and
// the same Vault), with every data key to unwrap again, and reads of users
// drawn uniformly from all of them are measured over the first 10 s after
// it answers /healthz. Only when named: -scenario restart.
func (s *scenarios) restart(ctx context.Context) error {
	if s.idleRead.Requests == 0 {
		return fmt.Errorf("no steady reads to compare with")
	}
	dir := s.srv.cmd.Dir
	s.srv.stop()
	start := time.Now()
	srv, err := startStrongroom(s.bin, dir, s.env)
	if err != nil {
		return err
	}
	s.srv = srv
	if err := waitHealthy(ctx, srv.Addr, time.Minute); err != nil {
		return err
	}
	s.rep.Measured["restart_ready_seconds"] = round(time.Since(start).Seconds())
	firsts := &distinct{seen: make([]atomic.Bool, s.users.len())}
	before := srv.snapshot()
	r := s.add(run(ctx, "read, first 10 s after a restart", s.client, s.o.concurrency, restartWindow,
		s.readRequests(firsts.wrap(uniform(s.users.len()))), status2xx))
	w := s.costs("restart", before, r)
	users := firsts.count.Load()
	perThousand := func(calls int64) float64 {
		if calls < 0 || users == 0 {
			return -1
		}
		return round(float64(calls) * 1000 / float64(users))
	}
	ratio := round(r.RPS / s.idleRead.RPS)
	s.rep.Measured["restart_rps_vs_steady"] = ratio
	s.rep.Measured["restart_distinct_users_read"] = users
	s.rep.Measured["restart_unwraps"] = w.unwraps()
	s.rep.Measured["restart_vault_calls"] = w.vaultCalls()
	s.rep.Measured["restart_km_unwrap_calls"] = w.unwrapCalls()
	s.rep.Measured["restart_unwraps_per_1000_first_reads"] = perThousand(w.unwraps())
	s.rep.Measured["restart_vault_calls_per_1000_first_reads"] = perThousand(w.vaultCalls())
	s.rep.Measured["restart_km_unwrap_calls_per_1000_first_reads"] = perThousand(w.unwrapCalls())
	s.rep.Measured["rss_after_restart_mib"] = round(srv.rssMiB())
	if s.o.kms == "vault" {
		s.verdict("reads in the first 10 s after a restart vs steady (Vault)", ratio, 0.3, ">=", "%.2f")
	}
	return nil
}

// waitHealthy asks addr's /healthz until it answers 200, for at most d.
func waitHealthy(ctx context.Context, addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		req, err := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/healthz", nil)
		if err != nil {
			return err
		}
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the restarted server did not answer /healthz within %s", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
