package api

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/service"
)

// access says who may call an operation. It is declared once per route,
// and both the OpenAPI document's security and the check come from it.
type access int

const (
	anyone      access = iota // no token is looked at
	tokenHolder               // a valid bearer token is required
	// anyoneOrToken: no token is needed, but one that is sent must be
	// valid, and the operation then acts for its user (/send-otp,
	// /verify-otp).
	anyoneOrToken
)

var bearerSecurity = []map[string][]string{{"bearer": {}}}

// handle declares one route: its operation (id, method, path, summary,
// the statuses its rules can answer) and who may call it. The handler
// gets the caller (nil for anyone) and returns service errors, which are
// turned into answers here, under the operation's id.
func handle[I, O any](s *Server, op huma.Operation, who access, h func(ctx context.Context, caller *service.Principal, in *I) (*O, error)) {
	switch who {
	case tokenHolder:
		op.Security = bearerSecurity
	case anyoneOrToken:
		op.Security = []map[string][]string{{}, {"bearer": {}}} // {} : no token at all is fine too
	}
	// Every error answer the operation can give is declared, each
	// problem+json with the headers it comes with: its rules' statuses
	// (op.Errors), and those of every operation like it.
	errs := append(op.Errors, http.StatusInternalServerError)
	if who != anyone {
		// A token that is refused; a server that cannot check sessions.
		errs = append(errs, http.StatusUnauthorized, http.StatusServiceUnavailable)
	}
	in := reflect.TypeFor[I]()
	if in.NumField() > 0 {
		errs = append(errs, http.StatusUnprocessableEntity) // an input that breaks its schema
	}
	if _, body := in.FieldByName("Body"); body {
		// Malformed JSON; a body over MaxBodyBytes; one that is not JSON.
		errs = append(errs, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
		if op.Extensions == nil {
			op.Extensions = map[string]any{}
		}
		op.Extensions["x-max-body-bytes"] = MaxBodyBytes // a rule no schema keyword states: 413 past it
	}
	slices.Sort(errs)
	if op.Responses == nil {
		op.Responses = map[string]*huma.Response{}
	}
	for _, code := range slices.Compact(errs) {
		op.Responses[strconv.Itoa(code)] = s.errorResponse(code)
	}
	op.Errors = nil                    // declared above; huma would declare them again without their headers
	op.MaxBodyBytes = MaxBodyBytes + 1 // huma refuses a body of exactly this size
	id := op.OperationID
	// The caller is checked first, before the input is read or validated:
	// a request without the token it needs learns nothing of the input's
	// rules, and costs no decoding.
	op.Middlewares = append(op.Middlewares, func(hctx huma.Context, next func(huma.Context)) {
		p, err := s.caller(hctx.Context(), who)
		if err != nil {
			s.refuse(hctx, id, err)
			return
		}
		next(huma.WithValue(hctx, principalKey{}, p))
	})
	huma.Register(s.api, op, func(ctx context.Context, in *I) (*O, error) {
		p, _ := ctx.Value(principalKey{}).(*service.Principal)
		out, err := h(ctx, p, in)
		if err != nil {
			return nil, httpError(ctx, s.log, id, err)
		}
		return out, nil
	})
}

type principalKey struct{}

// refuse answers err as a handler's error would be answered, from a
// middleware: the same status, problem+json body and headers.
func (s *Server) refuse(hctx huma.Context, op string, err error) {
	herr := httpError(hctx.Context(), s.log, op, err)
	var he huma.HeadersError
	if errors.As(herr, &he) {
		for k, vs := range he.GetHeaders() {
			for _, v := range vs {
				hctx.AppendHeader(k, v)
			}
		}
	}
	status, detail := http.StatusInternalServerError, "internal error"
	var em *huma.ErrorModel
	if errors.As(herr, &em) {
		status, detail = em.Status, em.Detail
	}
	_ = huma.WriteErr(s.api, hctx, status, detail)
}

// caller authenticates the request's Authorization header as who asks.
func (s *Server) caller(ctx context.Context, who access) (*service.Principal, error) {
	if who == anyone {
		return nil, nil
	}
	header := requestOf(ctx).authorization
	if header == "" {
		if who == anyoneOrToken {
			return nil, nil
		}
		return nil, unauthorized("a bearer token is required")
	}
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, unauthorized("the Authorization header must be \"Bearer <token>\"")
	}
	return s.svc.Authenticate(strings.TrimSpace(tok))
}

func unauthorized(msg string) error {
	return strongroom.Errorf(strongroom.KindUnauthorized, "%s", msg)
}

// request is what ServeHTTP learns of a request for its operation.
type request struct {
	authorization string // the Authorization header
}

type requestKey struct{}

func requestOf(ctx context.Context) request {
	r, _ := ctx.Value(requestKey{}).(request)
	return r
}

// client returns the caller's address, for rate limits (see clientAddr).
func client(ctx context.Context) string { return strongroom.Client(ctx) }

// errorResponse declares an error answer: problem+json, with the headers
// that come with its status.
func (s *Server) errorResponse(code int) *huma.Response {
	str := &huma.Schema{Type: huma.TypeString}
	r := &huma.Response{
		Description: http.StatusText(code),
		Content:     map[string]*huma.MediaType{"application/problem+json": {Schema: s.errorSchema}},
	}
	switch code {
	case http.StatusUnauthorized:
		r.Headers = map[string]*huma.Param{"WWW-Authenticate": {Description: `Bearer realm="strongroom"`, Schema: str}}
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		r.Headers = map[string]*huma.Param{"Retry-After": {Description: "seconds to wait before trying again",
			Schema: &huma.Schema{Type: huma.TypeInteger, Minimum: ptr(1.0)}, Required: true}}
	}
	return r
}

func ptr[T any](v T) *T { return &v }
