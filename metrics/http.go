package metrics

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ObserveRequest counts one answered request; it is api.Server.OnRequest.
// pattern is the route pattern that served it, as the mux writes it ("GET
// /sensitive-data/{id}"), or "" when no route did.
func (m *Metrics) ObserveRequest(pattern, method string, status int, d time.Duration) {
	route, meth, code := routeLabel(pattern), methodLabel(method), strconv.Itoa(status)
	m.requests.WithLabelValues(route, meth, code).Inc()
	m.requestDuration.WithLabelValues(route, meth, code).Observe(d.Seconds())
}

// routeLabel is a pattern without its method ("/sensitive-data/{id}"), or
// "unmatched". Patterns are the server's own, so their number is fixed;
// a request's path never becomes a label.
func routeLabel(pattern string) string {
	if pattern == "" {
		return "unmatched"
	}
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		pattern = pattern[i+1:]
	}
	return pattern
}

// methodLabel keeps the standard methods and calls anything else "other":
// a method is whatever token the client sends, and each new one would
// otherwise be a new series.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}
