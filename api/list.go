package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/strongroom/strongroom/service"
)

type (
	listIn struct {
		Limit int      `query:"limit" minimum:"1" maximum:"1000" doc:"answer at most this many records (a page); without it, the whole list"`
		After recordID `query:"after" doc:"the id of the last record of the previous page: answer the records after it"`
	}
	listOut struct {
		Link      string `header:"Link" doc:"with limit, when more records follow: <the next page's path>; rel=\"next\""`
		NextAfter string `header:"X-Next-After" doc:"with limit, when more records follow: the after of the next page"`
		Body      func(huma.Context)
	}
)

// listRoute serves GET /sensitive-data. The answer is the seed's bare JSON
// array, streamed: records are read from the store a chunk at a time,
// decrypted and written one by one, so a list's memory does not grow with
// its length. Anything that can fail before the first byte (token, query,
// data key, the next-page lookup) is an ordinary error answer; a failure
// once the answer has begun cuts the connection, so a client can never
// take a truncated list for a whole one.
func (s *Server) listRoute() {
	op := huma.Operation{
		OperationID: "list-data", Method: http.MethodGet, Path: "/sensitive-data", Tags: []string{"sensitive data"},
		Summary: "List the caller's values, decrypted, oldest first",
		Description: "Without parameters: every record of the caller (at most the record quota). With `limit` (1 to 1000): one page; " +
			"when more records follow, the answer has `Link: </sensitive-data?limit=N&after=ID>; rel=\"next\"` and `X-Next-After: ID`, " +
			"and the next page is asked with `after=ID`. The last page has neither header. The values listed come from the account's budget " +
			"(twice the record quota at once, then the quota a minute): past it, 429 with `Retry-After`, before anything is sent.",
		Errors: []int{c429},
	}
	// The body is streamed, so huma cannot see its type: declare it.
	schema := s.api.OpenAPI().Components.Schemas.Schema(reflect.TypeOf([]record{}), true, "records")
	schema.Nullable = false // always an array, [] when empty
	op.Responses = map[string]*huma.Response{"200": {
		Description: "The records, oldest first",
		Content:     map[string]*huma.MediaType{"application/json": {Schema: schema}},
	}}
	handle(s, op, tokenHolder, func(ctx context.Context, p *service.Principal, in *listIn) (*listOut, error) {
		list, err := s.svc.Records(ctx, p, string(in.After), in.Limit)
		if err != nil {
			return nil, err
		}
		out := &listOut{Body: func(hc huma.Context) { s.streamList(hc, list) }}
		if list.Next != "" {
			q := url.Values{"limit": {strconv.Itoa(in.Limit)}, "after": {list.Next}}
			out.Link = "</sensitive-data?" + q.Encode() + `>; rel="next"`
			out.NextAfter = list.Next
		}
		return out, nil
	})
}

func (s *Server) streamList(hc huma.Context, list *service.RecordList) {
	hc.SetHeader("Content-Type", "application/json")
	hc.SetStatus(http.StatusOK)
	w := hc.BodyWriter()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	buf.WriteByte('[')
	first := true
	err := list.Each(hc.Context(), func(v service.RecordView) error {
		if !first {
			buf.WriteByte(',')
		}
		first = false
		if err := enc.Encode(view(v)); err != nil {
			return err
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
		_, err := w.Write(buf.Bytes())
		buf.Reset()
		return err
	})
	if err == nil {
		buf.WriteString("]\n")
		_, err = w.Write(buf.Bytes())
	}
	if err != nil {
		// The status is sent: cut the connection rather than end a
		// partial array as if it were whole. The cause goes to the log
		// (never a value); a client that went away is not worth a line.
		if hc.Context().Err() == nil {
			s.log.ErrorContext(hc.Context(), "request failed", "op", "list-data", "err", err.Error())
		}
		panic(http.ErrAbortHandler)
	}
}
