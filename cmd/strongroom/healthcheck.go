package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"time"
)

// healthcheck is "strongroom healthcheck": one GET of the server's
// /readyz, nil only for a 200. It is the Docker HEALTHCHECK of an image
// with no shell and no curl, so it is quick (one try, a timeout) and
// reads nothing but STRONGROOM_ADDR: not the secrets, and none of the
// settings the server validates at its start, which a probe must neither
// need nor fail on. main turns its error into one line on stderr and exit
// status 1, which Docker reads as unhealthy.
func healthcheck(ctx context.Context, env *Env, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("url", "", "the URL to GET (default: /readyz on STRONGROOM_ADDR, on 127.0.0.1 if its host is a wildcard)")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	file := fs.String("file", "", "instead of a GET: healthy when this file exists and is not empty (the Vault bootstrap's AppRole secret id)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("healthcheck: unexpected argument %q", fs.Arg(0))
	}
	if *file != "" {
		// A bootstrap container has no port to ask: it is done when it has
		// written its result. Only the size is read, never the content.
		fi, err := os.Stat(*file)
		if err != nil || fi.Size() == 0 {
			return fmt.Errorf("healthcheck: %s is missing or empty", *file)
		}
		return nil
	}
	if *timeout <= 0 {
		return errors.New("healthcheck: -timeout must be a positive duration, such as 3s")
	}
	if *target == "" {
		addr, err := env.Get("STRONGROOM_ADDR")
		if err != nil {
			return fmt.Errorf("healthcheck: %w", err)
		}
		if *target, err = readyURL(addr); err != nil {
			return fmt.Errorf("healthcheck: %w", err)
		}
	}
	u, err := url.Parse(*target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// url.Parse's error quotes the URL, which may hold a password.
		return errors.New("healthcheck: -url must be an http:// or https:// URL")
	}
	return probe(ctx, u, *timeout)
}

// readyURL is the /readyz URL of a server listening on addr
// (STRONGROOM_ADDR, ":8000" if empty). A wildcard host (":8000",
// "0.0.0.0:8000", "[::]:8000") is reached on 127.0.0.1, from inside the
// container; any other host is where the server listens, so it is asked
// there.
func readyURL(addr string) (string, error) {
	if addr == "" {
		addr = defaultAddr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("STRONGROOM_ADDR %q is not host:port (pass -url)", addr)
	}
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}

// probe GETs u once and wants a 200 within timeout.
func probe(ctx context.Context, u *url.URL, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("healthcheck: GET %s: %w", u.Redacted(), err)
	}
	// No proxy: the question is whether this server answers, and an
	// HTTP_PROXY meant for the server's own outgoing calls must not
	// answer in its place.
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	res, err := client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // without the URL it repeats, password and all
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("healthcheck: GET %s: no answer within %s", u.Redacted(), timeout)
		}
		return fmt.Errorf("healthcheck: GET %s: %w", u.Redacted(), err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: GET %s: %s", u.Redacted(), res.Status)
	}
	return nil
}
