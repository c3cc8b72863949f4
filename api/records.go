package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/service"
)

type (
	dataBody struct {
		DataType dataType `json:"data_type" example:"card_number"`
		Value    value    `json:"value" example:"1234567812345678" doc:"a card_number is exactly 16 digits"`
	}
	record struct {
		ID       string `json:"id" example:"65a1b2c3d4e5f60718293a4b"`
		DataType string `json:"data_type" example:"card_number"`
		Value    string `json:"value" example:"1234567812345678"`
	}
	recordOut struct{ Body record }
	// RecordPath is the record id in the URL (exported: huma reads the fields
	// of exported embedded structs only).
	RecordPath struct {
		ID recordID `path:"id" doc:"the record's id"`
	}
)

func view(v service.RecordView) record { return record{ID: v.ID, DataType: v.DataType, Value: v.Value} }

func (s *Server) recordRoutes() {
	handle(s, huma.Operation{
		OperationID: "create-data", Method: http.MethodPost, Path: "/sensitive-data", Tags: []string{"sensitive data"},
		Summary:     "Store a value, encrypted",
		Description: "Refused with 409 when the caller already has the most records, or stored bytes, a user may have (see the README: quotas).",
		Errors:      []int{c409, c429},
	}, tokenHolder, func(ctx context.Context, p *service.Principal, in *struct{ Body dataBody }) (*recordOut, error) {
		v, err := s.svc.CreateRecord(ctx, p, string(in.Body.DataType), string(in.Body.Value))
		if err != nil {
			return nil, err
		}
		return &recordOut{Body: view(v)}, nil
	})

	s.listRoute() // list.go

	handle(s, huma.Operation{
		OperationID: "get-data", Method: http.MethodGet, Path: "/sensitive-data/{id}", Tags: []string{"sensitive data"},
		Summary: "Read one value, decrypted", Errors: []int{c404, c429},
	}, tokenHolder, func(ctx context.Context, p *service.Principal, in *RecordPath) (*recordOut, error) {
		v, err := s.svc.Record(ctx, p, string(in.ID))
		if err != nil {
			return nil, err
		}
		return &recordOut{Body: view(v)}, nil
	})

	handle(s, huma.Operation{
		OperationID: "update-data", Method: http.MethodPut, Path: "/sensitive-data/{id}", Tags: []string{"sensitive data"},
		Summary: "Replace a value", Description: "Refused with 409 when a larger value would take the caller past the byte quota.",
		Errors: []int{c404, c409, c429},
	}, tokenHolder, func(ctx context.Context, p *service.Principal, in *struct {
		RecordPath
		Body dataBody
	}) (*recordOut, error) {
		v, err := s.svc.UpdateRecord(ctx, p, string(in.ID), string(in.Body.DataType), string(in.Body.Value))
		if err != nil {
			return nil, err
		}
		return &recordOut{Body: view(v)}, nil
	})

	handle(s, huma.Operation{
		OperationID: "delete-data", Method: http.MethodDelete, Path: "/sensitive-data/{id}", Tags: []string{"sensitive data"},
		Summary: "Delete a value", Errors: []int{c404, c429},
	}, tokenHolder, func(ctx context.Context, p *service.Principal, in *RecordPath) (*messageOut, error) {
		if err := s.svc.DeleteRecord(ctx, p, string(in.ID)); err != nil {
			return nil, err
		}
		return message("Data deleted successfully"), nil
	})
}

// TransformSchema states the card_number rule in the document: JSON Schema
// 2020-12's if/then (the OpenAPI 3.1 document's dialect). The service
// checks it (huma does not evaluate if/then), with the same 422 on value.
func (dataBody) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	if s.Extensions == nil {
		s.Extensions = map[string]any{}
	}
	s.Extensions["if"] = map[string]any{
		"properties": map[string]any{"data_type": map[string]any{"enum": []string{"card_number"}}},
		"required":   []string{"data_type"},
	}
	s.Extensions["then"] = map[string]any{
		"properties": map[string]any{"value": map[string]any{"pattern": strongroom.CardNumberPattern,
			"description": "a card_number is exactly 16 digits (the Luhn check is not required)"}},
	}
	return s
}
