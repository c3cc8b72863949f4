package web

import (
	"context"
	"net/http"

	"github.com/strongroom/strongroom"
)

// activityShown is how many of the latest security events the account
// page shows.
const activityShown = 20

// accountView is the account page's view: sessions and activity read
// afresh.
func (a *App) accountView(ctx context.Context, s *session) view {
	v := view{Title: "Your account", User: s.user, CSRF: s.csrf}
	var err error
	if v.Sessions, err = a.svc.Sessions(ctx, s.p); err != nil {
		v.Error = a.fail(ctx, err)
	}
	page, err := a.svc.MyAuditEvents(ctx, s.p, "", activityShown)
	if err != nil {
		v.Error = a.fail(ctx, err)
	}
	v.Events = page.Events
	return v
}

func (a *App) accountPage(w http.ResponseWriter, r *http.Request, s *session) {
	a.render(w, r, http.StatusOK, "account", a.accountView(r.Context(), s))
}

// accountResult shows the account page after a form: err's message, or
// notice.
func (a *App) accountResult(w http.ResponseWriter, r *http.Request, s *session, err error, notice string) {
	a.result(w, r, "account", a.accountView(r.Context(), s), err, notice)
}

func (a *App) endSession(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	if id == s.p.TokenID { // this browser's own: that is signing out
		a.logout(w, r, s)
		return
	}
	a.accountResult(w, r, s, a.svc.EndSession(r.Context(), s.p, id), "That session is ended.")
}

func (a *App) changePassword(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	err := a.svc.ChangePassword(r.Context(), s.p, strongroom.Client(r.Context()), f.Get("current"), f.Get("new"), f.Get("code"))
	a.accountResult(w, r, s, err, "Your password is changed.")
}

func (a *App) deleteAccount(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	if _, err := a.svc.DeleteAccount(r.Context(), s.p, strongroom.Client(r.Context()), f.Get("password"), f.Get("code")); err != nil {
		a.accountResult(w, r, s, err, "")
		return
	}
	clearSession(w)
	a.render(w, r, http.StatusOK, "login", view{Title: "Sign in", Notice: "Your account and its records are deleted."})
}
