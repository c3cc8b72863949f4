package apitest

import (
	"context"
	"net/http"
	"testing"

	"github.com/strongroom/strongroom/tools/apitest/client"
)

// TestGeneratedClient walks through the seed's flow with the client that
// oapi-codegen generated from the document: if the document stops
// describing the server, this stops compiling or fails.
func TestGeneratedClient(t *testing.T) {
	ctx := context.Background()
	base := startServer(t)
	anon, err := client.NewClientWithResponses(base)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := anon.RegisterWithResponse(ctx, client.RegisterJSONRequestBody{Username: "alice", Email: "alice@example.com", Password: "StrongP@ssw0rd1!"})
	if err != nil || reg.StatusCode() != 200 || reg.JSON200 == nil || reg.JSON200.Message != "User registered successfully" {
		t.Fatalf("register: %v %s", err, body(reg.Body))
	}
	dup, err := anon.RegisterWithResponse(ctx, client.RegisterJSONRequestBody{Username: "alice", Email: "other@example.com", Password: "StrongP@ssw0rd1!"})
	if err != nil || dup.StatusCode() != 409 || dup.ApplicationproblemJSON409 == nil || dup.ApplicationproblemJSON409.Detail == nil {
		t.Fatalf("a taken username: %v %d %s", err, dup.StatusCode(), body(dup.Body))
	}
	login, err := anon.LoginWithResponse(ctx, client.LoginJSONRequestBody{Username: "alice", Password: "StrongP@ssw0rd1!"})
	if err != nil || login.JSON200 == nil || login.JSON200.AccessToken == nil {
		t.Fatalf("login: %v %s", err, body(login.Body))
	}
	token := *login.JSON200.AccessToken
	c, err := client.NewClientWithResponses(base, client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+token)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}

	created, err := c.CreateDataWithResponse(ctx, client.CreateDataJSONRequestBody{DataType: "card_number", Value: "1234567812345678"})
	if err != nil || created.JSON200 == nil || created.JSON200.Value != "1234567812345678" {
		t.Fatalf("create: %v %s", err, body(created.Body))
	}
	id := created.JSON200.Id
	got, err := c.GetDataWithResponse(ctx, id)
	if err != nil || got.JSON200 == nil || got.JSON200.Value != "1234567812345678" {
		t.Fatalf("get: %v %s", err, body(got.Body))
	}
	upd, err := c.UpdateDataWithResponse(ctx, id, client.UpdateDataJSONRequestBody{DataType: "card_number", Value: "8765432187654321"})
	if err != nil || upd.JSON200 == nil || upd.JSON200.Value != "8765432187654321" {
		t.Fatalf("update: %v %s", err, body(upd.Body))
	}
	list, err := c.ListDataWithResponse(ctx, nil)
	if err != nil || list.JSON200 == nil || len(*list.JSON200) != 1 || (*list.JSON200)[0].Id != id {
		t.Fatalf("list: %v %s", err, body(list.Body))
	}
	short, err := c.CreateDataWithResponse(ctx, client.CreateDataJSONRequestBody{DataType: "card_number", Value: "123"})
	if err != nil || short.StatusCode() != 422 || short.ApplicationproblemJSON422 == nil {
		t.Fatalf("a short card: %v %d %s", err, short.StatusCode(), body(short.Body))
	}
	sessions, err := c.ListSessionsWithResponse(ctx)
	if err != nil || sessions.JSON200 == nil || len(*sessions.JSON200) != 1 || !(*sessions.JSON200)[0].Current {
		t.Fatalf("sessions: %v %s", err, body(sessions.Body))
	}
	del, err := c.DeleteDataWithResponse(ctx, id)
	if err != nil || del.JSON200 == nil || del.JSON200.Message != "Data deleted successfully" {
		t.Fatalf("delete: %v %s", err, body(del.Body))
	}
	// A second session, ended by id from the first; the password changed
	// from the first; then the account deleted.
	login2, err := anon.LoginWithResponse(ctx, client.LoginJSONRequestBody{Username: "alice", Password: "StrongP@ssw0rd1!"})
	if err != nil || login2.JSON200 == nil || login2.JSON200.AccessToken == nil {
		t.Fatalf("second login: %v %s", err, body(login2.Body))
	}
	all, err := c.ListSessionsWithResponse(ctx)
	if err != nil || all.JSON200 == nil || len(*all.JSON200) != 2 {
		t.Fatalf("two sessions: %v %s", err, body(all.Body))
	}
	for _, s := range *all.JSON200 {
		if !s.Current {
			rev, err := c.RevokeSessionWithResponse(ctx, s.Id)
			if err != nil || rev.JSON200 == nil || rev.JSON200.Message != "Session revoked" {
				t.Fatalf("revoke: %v %s", err, body(rev.Body))
			}
		}
	}
	codes, err := c.RecoveryCodesWithResponse(ctx, client.RecoveryCodesJSONRequestBody{Password: "StrongP@ssw0rd1!", Otp: "123456"})
	if err != nil || codes.StatusCode() != 409 || codes.ApplicationproblemJSON409 == nil {
		t.Fatalf("recovery codes without 2FA: %v %d %s", err, codes.StatusCode(), body(codes.Body))
	}
	changed, err := c.ChangePasswordWithResponse(ctx, client.ChangePasswordJSONRequestBody{CurrentPassword: "StrongP@ssw0rd1!", NewPassword: "N3w-Passw0rd!long"})
	if err != nil || changed.JSON200 == nil || changed.JSON200.Message != "Password changed" {
		t.Fatalf("change password: %v %s", err, body(changed.Body))
	}
	kept, err := c.CreateDataWithResponse(ctx, client.CreateDataJSONRequestBody{DataType: "note", Value: "kept until the account goes"})
	if err != nil || kept.JSON200 == nil {
		t.Fatalf("create: %v %s", err, body(kept.Body))
	}
	gone, err := c.DeleteAccountWithResponse(ctx, client.DeleteAccountJSONRequestBody{Password: "N3w-Passw0rd!long"})
	if err != nil || gone.JSON200 == nil || gone.JSON200.RecordsDeleted != 1 || gone.JSON200.KeyDestroyedAt.IsZero() {
		t.Fatalf("delete account: %v %s", err, body(gone.Body))
	}
	if again, err := c.ListDataWithResponse(ctx, nil); err != nil || again.StatusCode() != 401 {
		t.Fatalf("a deleted account's token: %v %d", err, again.StatusCode())
	}
	reg2, err := anon.RegisterWithResponse(ctx, client.RegisterJSONRequestBody{Username: "alice", Email: "alice@example.com", Password: "StrongP@ssw0rd1!"})
	if err != nil || reg2.StatusCode() != 200 {
		t.Fatalf("register again: %v %s", err, body(reg2.Body))
	}
	login3, err := anon.LoginWithResponse(ctx, client.LoginJSONRequestBody{Username: "alice", Password: "StrongP@ssw0rd1!"})
	if err != nil || login3.JSON200 == nil || login3.JSON200.AccessToken == nil {
		t.Fatalf("login to the new account: %v %s", err, body(login3.Body))
	}
	token = *login3.JSON200.AccessToken

	out, err := c.LogoutWithResponse(ctx)
	if err != nil || out.JSON200 == nil || out.JSON200.Message != "Logged out" {
		t.Fatalf("logout: %v %s", err, body(out.Body))
	}
	after, err := c.ListDataWithResponse(ctx, nil)
	if err != nil || after.StatusCode() != 401 || after.ApplicationproblemJSON401 == nil {
		t.Fatalf("after logout: %v %d %s", err, after.StatusCode(), body(after.Body))
	}
}

func body(b []byte) string { return string(b) }
