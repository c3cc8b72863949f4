package metrics

import (
	"context"
	"time"

	"github.com/strongroom/strongroom"
)

// The audit trail's methods of the store (strongroom.AuditStore).

func (st *store) AppendAudit(ctx context.Context, events []*strongroom.AuditEvent, link strongroom.AuditLink) (err error) {
	defer st.done("append_audit", time.Now(), &err)
	return st.Store.AppendAudit(ctx, events, link)
}

func (st *store) AuditEvents(ctx context.Context, f strongroom.AuditFilter) (_ []*strongroom.AuditEvent, err error) {
	defer st.done("audit_events", time.Now(), &err)
	return st.Store.AuditEvents(ctx, f)
}

func (st *store) AuditChain(ctx context.Context, after int64, limit int) (_ []*strongroom.AuditEvent, err error) {
	defer st.done("audit_chain", time.Now(), &err)
	return st.Store.AuditChain(ctx, after, limit)
}

func (st *store) AuditHead(ctx context.Context) (_ strongroom.AuditHead, err error) {
	defer st.done("audit_head", time.Now(), &err)
	return st.Store.AuditHead(ctx)
}

func (st *store) AuditStart(ctx context.Context) (_ strongroom.AuditStart, err error) {
	defer st.done("audit_start", time.Now(), &err)
	return st.Store.AuditStart(ctx)
}

func (st *store) PruneAudit(ctx context.Context, before time.Time, seal strongroom.AuditSeal) (_ int, err error) {
	defer st.done("prune_audit", time.Now(), &err)
	return st.Store.PruneAudit(ctx, before, seal)
}
