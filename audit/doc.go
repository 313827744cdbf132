// Package audit answers auditors (L3, L4) from a tenant's events as stored:
// the state as of any instant, the history of one user, product,
// subscription, request or group, the proof that the history was not
// altered (the hash chain, checked offline over an export), and compliance
// reports.
//
// Everything here is pure over a Source of stored records, so the same code
// runs in ledgerd over the event store and in ledgerctl over an export file,
// without the service. Views are built by the read models of package
// projections, never by a second implementation, so that the state as of now
// equals the live views. Every replay checks the hash chain as it goes.
package audit
