package web

import (
	"context"
	"net/http"

	"github.com/strongroom/strongroom/service"
)

// recordsView is the records page's view, with the list read afresh.
func (a *App) recordsView(ctx context.Context, s *session) (view, error) {
	rs, err := a.svc.RecordSummaries(ctx, s.p, service.MaxPageSize)
	return view{Title: "Your records", User: s.username, CSRF: s.csrf, Records: rs}, err
}

func (a *App) records(w http.ResponseWriter, r *http.Request, s *session) {
	v, err := a.recordsView(r.Context(), s)
	if err != nil {
		v.Error = a.fail(r.Context(), err)
	}
	a.render(w, r, http.StatusOK, "records", v)
}

func (a *App) addRecord(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	if _, err := a.svc.CreateRecord(r.Context(), s.p, f.Get("data_type"), f.Get("value")); err != nil {
		status, msg := a.message(r.Context(), err)
		v, _ := a.recordsView(r.Context(), s)
		v.Error, v.Fields = msg, map[string]string{"data_type": f.Get("data_type")}
		a.render(w, r, status, "records", v)
		return
	}
	http.Redirect(w, r, Path+"/records", http.StatusSeeOther)
}

func (a *App) showRecord(w http.ResponseWriter, r *http.Request, s *session) {
	rec, err := a.svc.Record(r.Context(), s.p, r.PathValue("id"))
	v, lerr := a.recordsView(r.Context(), s)
	status := http.StatusOK
	switch {
	case err != nil:
		status, v.Error = a.message(r.Context(), err)
	case lerr != nil:
		v.Error = a.fail(r.Context(), lerr)
	default:
		v.Shown = &rec
	}
	a.render(w, r, status, "records", v)
}

func (a *App) deleteRecord(w http.ResponseWriter, r *http.Request, s *session) {
	if err := a.svc.DeleteRecord(r.Context(), s.p, r.PathValue("id")); err != nil {
		status, msg := a.message(r.Context(), err)
		v, _ := a.recordsView(r.Context(), s)
		v.Error = msg
		a.render(w, r, status, "records", v)
		return
	}
	http.Redirect(w, r, Path+"/records", http.StatusSeeOther)
}
