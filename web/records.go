package web

import (
	"context"
	"net/http"

	"github.com/strongroom/strongroom/service"
)

// recordsView is the records page's view, with the list read afresh.
func (a *App) recordsView(ctx context.Context, s *session) (view, error) {
	rs, err := a.svc.RecordSummaries(ctx, s.p, service.MaxPageSize)
	return view{Title: "Your records", User: s.user, CSRF: s.csrf, Records: rs}, err
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

// editView is the edit page's view of the caller's record id: the edit
// page never decrypts the value (reading one is a record.read event,
// which only Show is), it only replaces it.
func (a *App) editView(ctx context.Context, s *session, id string) (view, error) {
	rec, err := a.svc.RecordSummary(ctx, s.p, id)
	if err != nil {
		return view{}, err
	}
	return view{Title: "Edit a record", User: s.user, CSRF: s.csrf, Editing: &rec,
		Fields: map[string]string{"data_type": rec.DataType}}, nil
}

// editFailed shows err: on the edit page while the record is there, else
// (not found, or the list cannot be read) on the records page.
func (a *App) editFailed(w http.ResponseWriter, r *http.Request, s *session, err error, dataType string) {
	status, msg := a.message(r.Context(), err)
	v, verr := a.editView(r.Context(), s, r.PathValue("id"))
	if verr != nil {
		a.recordsFailed(w, r, s, status, msg)
		return
	}
	v.Error, v.Fields["data_type"] = msg, dataType
	a.render(w, r, status, "record-edit", v)
}

// recordsFailed shows the records page with status and msg.
func (a *App) recordsFailed(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	v, _ := a.recordsView(r.Context(), s)
	v.Error = msg
	a.render(w, r, status, "records", v)
}

func (a *App) editPage(w http.ResponseWriter, r *http.Request, s *session) {
	v, err := a.editView(r.Context(), s, r.PathValue("id"))
	if err != nil {
		status, msg := a.message(r.Context(), err)
		a.recordsFailed(w, r, s, status, msg)
		return
	}
	a.render(w, r, http.StatusOK, "record-edit", v)
}

func (a *App) editRecord(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	if _, err := a.svc.UpdateRecord(r.Context(), s.p, r.PathValue("id"), f.Get("data_type"), f.Get("value")); err != nil {
		a.editFailed(w, r, s, err, f.Get("data_type"))
		return
	}
	http.Redirect(w, r, Path+"/records", http.StatusSeeOther)
}
