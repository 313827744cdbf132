// The admin console: a small client over the ledger's JSON API, with no
// library. Every string comes from the catalog of the reader's language
// (/console/i18n/<lang>.json); every value from the API is put in the page as
// text (textContent), never as markup. The bearer token lives in this tab's
// sessionStorage only: it is sent in the Authorization header of API calls,
// never in a cookie, and is gone when the tab closes or on sign out.
'use strict';

const TOKEN = 'ledger.token';
const TENANT = 'ledger.tenant';
const LANG = 'ledger.lang';

const app = {
  lang: 'en',
  msgs: {},
  me: null,
  tenant: '',
  actions: new Set(),
  products: new Map(), // catalog: id -> product
  plans: new Map(), // service plan id -> name
  stale: false,
  stream: null,
  ownSeq: 0, // the last sequence this page's own commands wrote: their changes need no reload
};

// ---- strings, numbers, dates ----

function t(key, vars) {
  let s = app.msgs[key];
  if (s === undefined) {
    console.warn('missing string', key);
    s = key;
  }
  if (vars) {
    for (const [k, v] of Object.entries(vars)) s = s.split('{' + k + '}').join(String(v));
  }
  return s;
}

function num(n) {
  return new Intl.NumberFormat(app.lang).format(n);
}

function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  return new Intl.DateTimeFormat(app.lang, { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

async function loadStrings(lang) {
  const r = await fetch('/console/i18n/' + lang + '.json');
  app.msgs = await r.json();
  app.lang = lang;
  document.documentElement.lang = lang;
  document.title = t('app.title');
}

// ---- DOM ----

// h builds an element: attributes (on* are listeners), then children
// (strings become text nodes; null and false are skipped).
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let uid = 0;
function field(label, input, hint) {
  const id = input.id || 'f' + ++uid;
  input.id = id;
  let hintEl = null;
  if (hint) {
    hintEl = h('span', { class: 'hint', id: id + '-hint' }, hint);
    input.setAttribute('aria-describedby', id + '-hint');
  }
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hintEl);
}

function checkbox(label, attrs) {
  const id = 'c' + ++uid;
  return h('div', { class: 'check' }, h('input', Object.assign({ type: 'checkbox', id }, attrs)), h('label', { for: id }, label));
}

function table(caption, columns, rows, empty) {
  if (!rows.length) return h('p', { class: 'empty' }, empty || t('common.none'));
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption },
    h('table', {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, columns.map(c => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)))),
      h('tbody', {}, rows.map(r => h('tr', {}, columns.map((c, i) => (i === 0 ? h('th', { scope: 'row' }, c.cell(r)) : h('td', { class: c.num ? 'num' : null }, c.cell(r)))))))));
}

function link(href, text) {
  return h('a', { href }, text);
}

function can(action) {
  return app.actions.has(action);
}

function person(id, name) {
  return name && name !== id ? name + ' (' + id + ')' : id;
}

function productName(id) {
  const p = app.products.get(id);
  return p ? p.name : id;
}

function planName(id) {
  return app.plans.get(id) || id;
}

function ids(text) {
  return text.split(/[\s,;]+/).map(s => s.trim()).filter(Boolean);
}

// ---- the API ----

class Problem extends Error {
  constructor(p) {
    super(p.detail || p.code);
    this.problem = p;
  }
}

async function api(method, path, body) {
  const headers = { Authorization: 'Bearer ' + sessionStorage.getItem(TOKEN) };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let r;
  try {
    r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new Problem({ code: 'Unavailable', detail: t('error.network') });
  }
  const type = r.headers.get('Content-Type') || '';
  if (!r.ok) {
    const p = type.includes('json') ? await r.json() : { code: String(r.status), detail: await r.text() };
    if (r.status === 401 && app.me) {
      signOut(p);
    }
    throw new Problem(p);
  }
  return type.includes('json') ? r.json() : r;
}

function tenantPath(path) {
  return '/v1/tenants/' + encodeURIComponent(app.tenant) + path;
}

const get = path => api('GET', tenantPath(path));
const command = (name, body) => api('POST', tenantPath('/commands/' + name), body);

// problemBox shows a refusal as the API gives it: its code, its detail, and
// the reason for each user it concerns.
function problemBox(err) {
  const p = err instanceof Problem ? err.problem : { code: 'Internal', detail: String(err) };
  return h('div', { class: 'problem', role: 'alert' },
    h('p', {}, h('strong', { class: 'code' }, p.code), ' ', p.detail),
    p.violations && p.violations.length ? h('ul', { class: 'violations', 'aria-label': t('problem.perUser') },
      p.violations.map(v => h('li', { 'data-subject': v.subject }, h('strong', {}, v.subject), ' — ', h('span', { class: 'code' }, v.code), ': ', v.detail))) : null);
}

function okBox(text) {
  return h('div', { class: 'ok', role: 'status' }, text);
}

// act runs a command from a form and shows its outcome in the form's
// outcome area; on success the page reloads what it shows.
async function act(outcome, name, body, done) {
  outcome.replaceChildren(h('p', { class: 'busy' }, t('common.working')));
  document.body.dataset.busy = '1';
  try {
    return await send(outcome, name, body, done);
  } finally {
    delete document.body.dataset.busy;
  }
}

async function send(outcome, name, body, done) {
  try {
    const res = await command(name, body);
    for (const e of res.events) app.ownSeq = Math.max(app.ownSeq, e.sequence);
    if (res.notice) {
      outcome.replaceChildren(h('div', { class: 'notice', role: 'status' }, res.notice.message, ' ', res.notice.link ? link(res.notice.link, res.notice.link) : null));
      return res;
    }
    outcome.replaceChildren(okBox(t('common.done', { n: num(res.events.length) })));
    if (done) await done(res);
    else await render({ keepOutcome: outcome });
    return res;
  } catch (e) {
    outcome.replaceChildren(problemBox(e));
    return null;
  }
}

function form(onsubmit, ...children) {
  return h('form', {
    onsubmit: e => {
      e.preventDefault();
      onsubmit(new FormData(e.target), e.target);
    },
  }, ...children);
}

function outcomeArea() {
  return h('div', { class: 'outcome', 'aria-live': 'polite' });
}

// ---- pages ----

const pages = {
  licenses: { action: 'ListLicenses', render: licensesPage },
  products: { action: 'ListLicenses', render: productsPage },
  users: { action: 'ListUsers', render: usersPage },
  groups: { action: 'ListGroups', render: groupsPage },
  requests: { action: 'ListRequests', render: requestsPage },
  'my-requests': { action: 'RequestLicense', render: myRequestsPage },
  audit: { action: 'ListHistory', render: auditPage },
  partners: { action: 'ListPartners', render: partnersPage },
};

const GDAP_ROLES = ['LicenseAdministrator', 'UserAdministrator', 'DirectoryWriters', 'GlobalReader'];
const AGENT_ROLES = ['AdminAgent', 'HelpdeskAgent', 'SalesAgent', 'UserManagementAdmin'];

async function partnersPage(main) {
  const data = await get('/partners');
  const outcome = outcomeArea();
  main.append(h('h1', {}, t('partners.title')), h('p', { class: 'lead' }, t('partners.lead')),
    table(t('partners.caption'), [
      { label: t('col.partner'), cell: p => p.partnerId },
      { label: t('col.roles'), cell: p => p.roles.map(r => t('role.' + r)).join(', ') },
      { label: t('col.granted'), cell: p => when(p.grantedAt) },
      { label: t('col.ends'), cell: p => (p.expiresAt ? when(p.expiresAt) : t('partners.noEnd')) },
      { label: t('col.status'), cell: p => h('span', { class: 'badge ' + (p.active ? 'approved' : 'expired') }, t(p.active ? 'partners.active' : 'partners.ended')) },
      {
        label: t('col.actions'), cell: p => can('RevokePartnerDelegation') ? h('button', {
          type: 'button', class: 'danger', onclick: () => act(outcome, 'RevokePartnerDelegation', { partnerId: p.partnerId }),
        }, t('partners.revoke', { partner: p.partnerId })) : '',
      },
    ], data.partners, t('partners.empty')), outcome);
  if (can('GrantPartnerDelegation')) {
    const o = outcomeArea();
    main.append(h('section', { 'aria-labelledby': 'grant-h' }, h('h2', { id: 'grant-h' }, t('partners.grant')),
      form(fd => act(o, 'GrantPartnerDelegation', { partnerId: fd.get('partnerId'), roles: fd.getAll('role'), durationDays: Number(fd.get('durationDays') || 0) }),
        field(t('col.partner'), h('input', { name: 'partnerId', required: true, autocomplete: 'off' })),
        h('fieldset', {}, h('legend', {}, t('partners.gdapRoles')), GDAP_ROLES.map(r => checkbox(t('role.' + r), { name: 'role', value: r }))),
        h('fieldset', {}, h('legend', {}, t('partners.agentRoles')), AGENT_ROLES.map(r => checkbox(t('role.' + r), { name: 'role', value: r }))),
        field(t('partners.duration'), h('input', { name: 'durationDays', type: 'number', min: '0', max: '730', value: '365' }), t('partners.durationHint')),
        h('button', { type: 'submit' }, t('partners.grantSubmit'))), o));
  }
}

function route() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path, query] = hash.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { page: parts[0] || '', arg: parts[1] || '', params: new URLSearchParams(query || '') };
}

function firstPage() {
  return Object.keys(pages).find(p => can(pages[p].action)) || 'my-requests';
}

async function licensesPage(main, r) {
  if (r.arg) return productUsersPage(main, r.arg);
  const data = await get('/licenses');
  main.append(h('h1', {}, t('licenses.title')),
    h('p', { class: 'lead' }, t('licenses.lead')),
    table(t('licenses.caption'), [
      { label: t('col.product'), cell: p => link('#/licenses/' + encodeURIComponent(p.productId), p.name || p.productId) },
      { label: t('col.total'), num: true, cell: p => num(p.total) },
      { label: t('col.assigned'), num: true, cell: p => num(p.assigned) },
      { label: t('col.available'), num: true, cell: p => num(p.available) },
      { label: t('col.subscriptions'), num: true, cell: p => num(p.subscriptions.length) },
    ], data.products, t('licenses.empty')));

  // A7: a selection of users, and for each product whether all, some or none hold it.
  const out = h('div', {});
  const outcome = outcomeArea();
  const input = h('input', { name: 'users', autocomplete: 'off', value: r.params.get('users') || '' });
  const show = async users => {
    out.replaceChildren();
    history.replaceState(null, '', '#/licenses?users=' + encodeURIComponent(users.join(',')));
    document.getElementById('app').dataset.route = location.hash;
    try {
      const sel = await get('/licenses/selection?users=' + encodeURIComponent(users.join(',')));
      out.append(table(t('selection.caption', { users: sel.users.join(', ') }), [
        { label: t('col.product'), cell: p => p.name || p.productId },
        { label: t('col.status'), cell: p => h('span', { class: 'badge ' + p.status }, t('selection.' + p.status)) },
        { label: t('col.holders'), cell: p => p.holders.join(', ') },
        { label: t('col.available'), num: true, cell: p => num(p.available) },
        {
          label: t('col.actions'), cell: p => h('div', { class: 'buttons' },
            can('AssignLicense') && p.status !== 'all' ? h('button', { type: 'button', onclick: () => act(outcome, 'AssignLicense', { productId: p.productId, userIds: sel.users }, () => show(sel.users)) }, t('selection.assign', { product: p.name })) : null,
            can('RevokeAssignment') && p.status !== 'none' ? h('button', { type: 'button', class: 'danger', onclick: () => act(outcome, 'RevokeAssignment', { productId: p.productId, userIds: p.holders }, () => show(sel.users)) }, t('selection.remove', { product: p.name })) : null),
        },
      ], sel.products));
    } catch (e) {
      out.append(problemBox(e));
    }
  };
  main.append(h('section', { 'aria-labelledby': 'sel-h' },
    h('h2', { id: 'sel-h' }, t('selection.title')),
    form(fd => show(ids(fd.get('users'))), field(t('selection.users'), input, t('hint.userIds')), h('button', { type: 'submit' }, t('selection.show'))),
    outcome, out));
  if (r.params.get('users')) await show(ids(r.params.get('users')));
}

function planChecks(productId, disabled) {
  const p = app.products.get(productId);
  if (!p) return h('p', {}, t('common.none'));
  return h('fieldset', { class: 'plans' }, h('legend', {}, t('plans.legend')),
    p.plans.map(pl => checkbox(pl.name || pl.id, { name: 'plan', value: pl.id, checked: !(disabled || []).includes(pl.id) })));
}

function disabledFrom(fd, productId) {
  const on = new Set(fd.getAll('plan'));
  const p = app.products.get(productId);
  return p ? p.plans.map(pl => pl.id).filter(id => !on.has(id)) : [];
}

async function productUsersPage(main, productId) {
  const [holders, lic] = await Promise.all([get('/licenses/' + encodeURIComponent(productId) + '/users?limit=200'), get('/licenses')]);
  const row = lic.products.find(p => p.productId === productId);
  main.append(h('p', {}, link('#/licenses', '← ' + t('licenses.title'))),
    h('h1', {}, holders.name || productId),
    row ? h('p', { class: 'lead' }, t('product.seats', { total: num(row.total), assigned: num(row.assigned), available: num(row.available) })) : null);
  const outcome = outcomeArea();
  const selected = new Set();
  main.append(h('section', { 'aria-labelledby': 'holders-h' }, h('h2', { id: 'holders-h' }, t('product.users')),
    table(t('product.usersCaption', { product: holders.name }), [
      { label: t('col.user'), cell: u => link('#/users/' + encodeURIComponent(u.userId), person(u.userId, u.displayName)) },
      { label: t('col.how'), cell: u => [u.direct ? t('how.direct') : null, ...u.groups.map(g => t('how.group', { group: g }))].filter(Boolean).join(', ') },
      { label: t('col.plansOff'), cell: u => u.disabledPlans.map(planName).join(', ') || '—' },
      {
        label: t('col.select'), cell: u => can('RevokeAssignment') ? h('input', {
          type: 'checkbox', 'aria-label': t('product.selectUser', { user: u.userId }), disabled: !u.direct,
          onchange: e => (e.target.checked ? selected.add(u.userId) : selected.delete(u.userId)),
        }) : '',
      },
    ], holders.users, t('product.noUsers')),
    can('RevokeAssignment') && holders.users.length ? h('button', {
      type: 'button', class: 'danger',
      onclick: () => selected.size ? act(outcome, 'RevokeAssignment', { productId, userIds: [...selected] }) : outcome.replaceChildren(problemBox(new Problem({ code: 'ValidationFailed', detail: t('product.selectFirst') }))),
    }, t('product.unassign')) : null,
    outcome));
  if (can('AssignLicense')) {
    const aOut = outcomeArea();
    main.append(h('section', { 'aria-labelledby': 'assign-h' }, h('h2', { id: 'assign-h' }, t('assign.title')),
      form(fd => act(aOut, 'AssignLicense', { productId, userIds: ids(fd.get('users')), disabledPlans: disabledFrom(fd, productId) }),
        field(t('assign.users'), h('input', { name: 'users', required: true, autocomplete: 'off' }), t('hint.userIds')),
        planChecks(productId, []),
        h('button', { type: 'submit' }, t('assign.submit'))),
      aOut));
  }
}

async function productsPage(main) {
  const data = await get('/subscriptions');
  const outcome = outcomeArea();
  main.append(h('h1', {}, t('products.title')), h('p', { class: 'lead' }, t('products.lead')),
    table(t('products.caption'), [
      { label: t('col.subscription'), cell: s => s.subscriptionId },
      { label: t('col.product'), cell: s => productName(s.productId) },
      { label: t('col.channel'), cell: s => t('channel.' + s.channel) },
      { label: t('col.state'), cell: s => t('state.' + s.state) },
      {
        label: t('col.seats'), num: true, cell: s => can('ChangeSeats') ? form(fd => act(outcome, 'ChangeSeats', { subscriptionId: s.subscriptionId, seats: Number(fd.get('seats')) }),
          h('input', { type: 'number', name: 'seats', min: '0', value: String(s.seats), 'aria-label': t('products.seatsOf', { sub: s.subscriptionId }), class: 'seats' }),
          h('button', { type: 'submit' }, t('products.change'))) : num(s.seats),
      },
      {
        label: t('col.selfService'), cell: s => s.selfServiceOwner ? h('span', {}, s.selfServiceOwner, ' ',
          can('TakeOverSubscription') ? h('button', { type: 'button', onclick: () => act(outcome, 'TakeOverSubscription', { subscriptionId: s.subscriptionId }) }, t('products.takeOver')) : null) : '—',
      },
    ], data.subscriptions, t('products.empty')), outcome);
  if (can('PurchaseSubscription')) {
    const bOut = outcomeArea();
    const channels = ['DIRECT', 'PARTNER', 'NCE', 'SELF_SERVICE', 'MARKETPLACE'];
    main.append(h('section', { 'aria-labelledby': 'buy-h' }, h('h2', { id: 'buy-h' }, t('buy.title')),
      form(fd => act(bOut, 'PurchaseSubscription', {
        subscriptionId: fd.get('subscriptionId'), productId: fd.get('productId'), seats: Number(fd.get('seats')),
        channel: 'CHANNEL_' + fd.get('channel'), purchasedBy: fd.get('purchasedBy') || undefined,
      }),
      field(t('buy.subscription'), h('input', { name: 'subscriptionId', required: true, autocomplete: 'off' })),
      field(t('buy.product'), h('select', { name: 'productId' }, [...app.products.values()].map(p => h('option', { value: p.id }, p.name + ' (' + p.id + ')')))),
      field(t('buy.seats'), h('input', { name: 'seats', type: 'number', min: '1', value: '1', required: true })),
      field(t('buy.channel'), h('select', { name: 'channel' }, channels.map(c => h('option', { value: c }, t('channel.' + c.toLowerCase()))))),
      field(t('buy.purchasedBy'), h('input', { name: 'purchasedBy', autocomplete: 'off' }), t('buy.purchasedByHint')),
      h('button', { type: 'submit' }, t('buy.submit'))), bOut));
  }
}

// pager shows a list page by page with the API's cursors.
function pager(r, base, next) {
  const cursors = (r.params.get('back') || '').split('~').filter(Boolean);
  const here = r.params.get('cursor') || '';
  const params = (cursor, back) => {
    const p = new URLSearchParams(r.params);
    cursor ? p.set('cursor', cursor) : p.delete('cursor');
    back.length ? p.set('back', back.join('~')) : p.delete('back');
    return base + '?' + p.toString();
  };
  return h('nav', { class: 'pager', 'aria-label': t('pager.label') },
    here ? link(params(cursors[cursors.length - 1] === '-' ? '' : cursors[cursors.length - 1] || '', cursors.slice(0, -1)), t('pager.previous')) : null,
    next ? link(params(next, [...cursors, here || '-']), t('pager.next')) : null);
}

function searchForm(r, base, label) {
  return form(fd => {
    const p = new URLSearchParams();
    if (fd.get('search')) p.set('search', fd.get('search'));
    location.hash = base + '?' + p.toString();
  }, h('div', { class: 'inline' }, field(label, h('input', { type: 'search', name: 'search', value: r.params.get('search') || '' })), h('button', { type: 'submit' }, t('common.search'))));
}

function listQuery(r) {
  const p = new URLSearchParams();
  p.set('limit', '20');
  if (r.params.get('search')) p.set('search', r.params.get('search'));
  if (r.params.get('cursor') && r.params.get('cursor') !== '-') p.set('cursor', r.params.get('cursor'));
  return p.toString();
}

async function usersPage(main, r) {
  if (r.arg) return userPage(main, r.arg);
  const data = await get('/users?' + listQuery(r));
  main.append(h('h1', {}, t('users.title')), searchForm(r, '#/users', t('users.search')),
    table(t('users.caption'), [
      { label: t('col.name'), cell: u => link('#/users/' + encodeURIComponent(u.userId), u.displayName || u.userId) },
      { label: t('col.userId'), cell: u => u.userId },
      { label: t('col.email'), cell: u => u.email },
      { label: t('col.location'), cell: u => u.usageLocation },
      { label: t('col.guest'), cell: u => (u.guest ? t('common.yes') : t('common.no')) },
      { label: t('col.groups'), cell: u => u.groups.join(', ') },
    ], data.users, t('users.empty')),
    pager(r, '#/users', data.nextCursor));
  if (can('RegisterUser')) {
    const o = outcomeArea();
    main.append(h('section', { 'aria-labelledby': 'adduser-h' }, h('h2', { id: 'adduser-h' }, t('users.add')),
      form(fd => act(o, 'RegisterUser', { userId: fd.get('userId'), displayName: fd.get('displayName') || '', email: fd.get('email') || '', usageLocation: (fd.get('usageLocation') || '').toUpperCase(), guest: fd.get('guest') === 'on' }),
        h('div', { class: 'inline' },
          field(t('col.userId'), h('input', { name: 'userId', required: true, autocomplete: 'off' })),
          field(t('col.name'), h('input', { name: 'displayName', autocomplete: 'off' })),
          field(t('col.email'), h('input', { name: 'email', type: 'email', autocomplete: 'off' })),
          field(t('col.location'), h('input', { name: 'usageLocation', maxlength: '2', size: '3', autocomplete: 'off' }), t('users.locationHint'))),
        checkbox(t('col.guest'), { name: 'guest' }),
        h('button', { type: 'submit' }, t('users.addSubmit'))), o));
  }
}

async function userPage(main, userId) {
  const [u, lic] = await Promise.all([get('/users/' + encodeURIComponent(userId)), get('/users/' + encodeURIComponent(userId) + '/licenses')]);
  const outcome = outcomeArea();
  main.append(h('p', {}, link('#/users', '← ' + t('users.title'))),
    h('h1', {}, person(u.userId, u.displayName)),
    h('dl', { class: 'facts' },
      h('dt', {}, t('col.email')), h('dd', {}, u.email || '—'),
      h('dt', {}, t('col.location')), h('dd', {}, u.usageLocation || '—'),
      h('dt', {}, t('col.guest')), h('dd', {}, u.guest ? t('common.yes') : t('common.no')),
      h('dt', {}, t('col.groups')), h('dd', {}, u.groups.map(g => link('#/groups/' + encodeURIComponent(g), g)).flatMap((a, i) => (i ? [', ', a] : [a])), u.groups.length ? null : '—')),
    h('h2', {}, t('user.licenses')),
    table(t('user.licensesCaption'), [
      { label: t('col.product'), cell: l => l.name || l.productId },
      { label: t('col.how'), cell: l => [l.direct ? t('how.direct') : null, ...l.groups.map(g => t('how.group', { group: g }))].filter(Boolean).join(', ') },
      { label: t('col.plansOn'), cell: l => l.enabledPlans.map(planName).join(', ') || '—' },
      { label: t('col.plansOff'), cell: l => l.disabledPlans.map(planName).join(', ') || '—' },
    ], lic.licenses, t('user.noLicenses')));
  if (can('ChangeAssignmentPlans')) {
    for (const l of lic.licenses.filter(l => l.direct)) {
      const o = outcomeArea();
      main.append(h('details', {}, h('summary', {}, t('user.changePlans', { product: l.name })),
        form(fd => act(o, 'ChangeAssignmentPlans', { productId: l.productId, userId, disabledPlans: disabledFrom(fd, l.productId) }),
          planChecks(l.productId, l.disabledPlans), h('button', { type: 'submit' }, t('common.save'))), o));
    }
  }
  main.append(h('h2', {}, t('user.errors')),
    table(t('user.errorsCaption'), [
      { label: t('col.group'), cell: e => link('#/groups/' + encodeURIComponent(e.groupId), e.groupId) },
      { label: t('col.product'), cell: e => productName(e.productId) },
      { label: t('col.code'), cell: e => h('span', { class: 'code' }, e.code) },
      { label: t('col.detail'), cell: e => e.detail },
    ], lic.errors, t('user.noErrors')));
  if (can('UnassignAll') && lic.licenses.some(l => l.direct)) {
    main.append(h('button', {
      type: 'button', class: 'danger', onclick: () => {
        if (confirm(t('user.unassignAllConfirm', { user: userId }))) act(outcome, 'UnassignAll', { userIds: [userId] });
      },
    }, t('user.unassignAll')));
  }
  main.append(outcome);
}

async function groupsPage(main, r) {
  if (r.arg) return groupPage(main, r.arg, r);
  const data = await get('/groups?' + listQuery(r));
  main.append(h('h1', {}, t('groups.title')), searchForm(r, '#/groups', t('groups.search')),
    table(t('groups.caption'), [
      { label: t('col.name'), cell: g => link('#/groups/' + encodeURIComponent(g.groupId), g.name || g.groupId) },
      { label: t('col.groupId'), cell: g => g.groupId },
      { label: t('col.members'), num: true, cell: g => num(g.memberCount) },
      { label: t('col.products'), cell: g => g.products.map(p => p.name || p.productId).join(', ') },
      { label: t('col.inError'), num: true, cell: g => (g.membersInError ? h('span', { class: 'badge some' }, num(g.membersInError)) : num(0)) },
    ], data.groups, t('groups.empty')),
    pager(r, '#/groups', data.nextCursor));
  if (can('CreateGroup')) {
    const o = outcomeArea();
    main.append(h('section', { 'aria-labelledby': 'addgroup-h' }, h('h2', { id: 'addgroup-h' }, t('groups.add')),
      form(fd => act(o, 'CreateGroup', { groupId: fd.get('groupId'), name: fd.get('name') || '' }),
        h('div', { class: 'inline' },
          field(t('col.groupId'), h('input', { name: 'groupId', required: true, autocomplete: 'off' })),
          field(t('col.name'), h('input', { name: 'name', autocomplete: 'off' })),
          h('button', { type: 'submit' }, t('groups.addSubmit')))), o));
  }
}

async function groupPage(main, groupId, r) {
  const g = encodeURIComponent(groupId);
  const [group, members, errors] = await Promise.all([get('/groups/' + g), get('/groups/' + g + '/members?' + listQuery(r)), get('/groups/' + g + '/errors?limit=200')]);
  const outcome = outcomeArea();
  main.append(h('p', {}, link('#/groups', '← ' + t('groups.title'))),
    h('h1', {}, group.name || groupId),
    h('h2', {}, t('group.products')),
    table(t('group.productsCaption'), [
      { label: t('col.product'), cell: p => p.name || p.productId },
      { label: t('col.plansOff'), cell: p => p.disabledPlans.map(planName).join(', ') || '—' },
    ], group.products, t('group.noProducts')),
    h('h2', {}, t('group.members', { n: num(group.memberCount) })),
    table(t('group.membersCaption'), [
      { label: t('col.user'), cell: m => link('#/users/' + encodeURIComponent(m.userId), person(m.userId, m.displayName)) },
    ], members.members, t('group.noMembers')),
    pager(r, '#/groups/' + g, members.nextCursor),
    h('h2', {}, t('group.errors')),
    table(t('group.errorsCaption'), [
      { label: t('col.user'), cell: e => person(e.userId, e.displayName) },
      { label: t('col.product'), cell: e => e.productName || e.productId },
      { label: t('col.code'), cell: e => h('span', { class: 'code' }, e.code) },
      { label: t('col.detail'), cell: e => e.detail },
    ], errors.errors, t('group.noErrors')),
    can('ReprocessGroupLicenses') ? h('button', { type: 'button', onclick: () => act(outcome, 'ReprocessGroupLicenses', { groupId }) }, t('group.reprocess')) : null,
    outcome);
  if (can('AddGroupMembers')) {
    const o = outcomeArea();
    main.append(h('section', { 'aria-labelledby': 'addmembers-h' }, h('h2', { id: 'addmembers-h' }, t('group.addMembers')),
      form(fd => act(o, 'AddGroupMembers', { groupId, userIds: ids(fd.get('users')) }),
        field(t('assign.users'), h('input', { name: 'users', required: true, autocomplete: 'off' }), t('hint.userIds')),
        h('button', { type: 'submit' }, t('group.addMembersSubmit'))), o));
  }
  if (can('AssignGroupLicense')) {
    const o = outcomeArea();
    const plansBox = h('div', {}, planChecks([...app.products.values()].find(p => p.assignable)?.id, []));
    main.append(h('section', { 'aria-labelledby': 'grouplic-h' }, h('h2', { id: 'grouplic-h' }, t('group.assign')),
      form(fd => act(o, 'AssignGroupLicense', { groupId, productId: fd.get('productId'), disabledPlans: disabledFrom(fd, fd.get('productId')) }),
        field(t('request.product'), h('select', { name: 'productId', onchange: e => plansBox.replaceChildren(planChecks(e.target.value, [])) },
          [...app.products.values()].filter(p => p.assignable).map(p => h('option', { value: p.id }, p.name)))),
        plansBox,
        h('button', { type: 'submit' }, t('assign.submit'))), o));
  }
}

function names(req) {
  const m = new Map((req.people || []).map(p => [p.userId, p.displayName]));
  return id => person(id, m.get(id));
}

function requestCard(req, canDecide, groups) {
  const who = names(req);
  const card = h('article', { class: 'card', 'aria-labelledby': 'rq-' + req.requestId, 'data-request': req.requestId, 'data-product': req.productId },
    h('h3', { id: 'rq-' + req.requestId }, req.productName || req.productId),
    h('dl', { class: 'facts' },
      h('dt', {}, t('request.by')), h('dd', {}, who(req.requesterId)),
      h('dt', {}, t('request.for')), h('dd', {}, [req.requesterId, ...req.userIds.filter(u => u !== req.requesterId)].map(who).join(', ')),
      h('dt', {}, t('request.on')), h('dd', {}, when(req.requestedAt)),
      req.message ? [h('dt', {}, t('request.message')), h('dd', {}, req.message)] : null,
      h('dt', {}, t('col.status')), h('dd', {}, h('span', { class: 'badge ' + req.status }, t('status.' + req.status))),
      req.decidedAt ? [h('dt', {}, t('request.decided')), h('dd', {}, when(req.decidedAt) + ' — ' + who(req.decidedBy))] : null,
      req.approvedUserIds ? [h('dt', {}, t('request.approved')), h('dd', {}, req.approvedUserIds.map(who).join(', '))] : null,
      req.rejectedUserIds ? [h('dt', {}, t('request.rejected')), h('dd', {}, req.rejectedUserIds.map(who).join(', '))] : null,
      req.sharedWith ? [h('dt', {}, t('request.shared')), h('dd', {}, req.sharedWith.map(who).join(', '))] : null));
  if (!canDecide || req.status !== 'pending') return card;
  const everyone = [req.requesterId, ...req.userIds.filter(u => u !== req.requesterId)];
  const aOut = outcomeArea();
  const plansBox = h('div', {}, planChecks(req.productId, []));
  const productSel = h('select', {
    name: 'productId', onchange: e => plansBox.replaceChildren(planChecks(e.target.value, [])),
  }, [...app.products.values()].filter(p => p.assignable).map(p => h('option', { value: p.id, selected: p.id === req.productId }, p.name)));
  card.append(
    h('details', { class: 'approve' }, h('summary', {}, t('request.approve')),
      form(fd => {
        const chosen = fd.getAll('approve');
        act(aOut, 'ApproveRequest', {
          requestId: req.requestId, approvedUserIds: chosen.length === everyone.length ? [] : chosen,
          productId: fd.get('productId'), groupId: fd.get('groupId') || '',
          disabledPlans: fd.get('groupId') ? [] : disabledFrom(fd, fd.get('productId')), message: fd.get('message') || '',
        });
      },
      h('fieldset', {}, h('legend', {}, t('request.whom')), everyone.map(u => checkbox(who(u), { name: 'approve', value: u, checked: true }))),
      field(t('request.product'), productSel),
      plansBox,
      field(t('request.group'), groups && groups.length
        ? h('select', { name: 'groupId' }, h('option', { value: '' }, t('request.noGroup')), groups.map(g => h('option', { value: g.groupId }, (g.name || g.groupId) + ' (' + g.groupId + ')')))
        : h('input', { name: 'groupId', autocomplete: 'off' }), t('request.groupHint')),
      field(t('request.message'), h('textarea', { name: 'message', rows: '2' })),
      h('button', { type: 'submit' }, t('request.approveSubmit'))), aOut));
  const dOut = outcomeArea();
  card.append(h('details', { class: 'deny' }, h('summary', {}, t('request.deny')),
    form(fd => act(dOut, 'DenyRequest', { requestId: req.requestId, message: fd.get('message') || '' }),
      field(t('request.message'), h('textarea', { name: 'message', rows: '2' })),
      h('button', { type: 'submit', class: 'danger' }, t('request.denySubmit'))), dOut));
  const sOut = outcomeArea();
  card.append(h('details', { class: 'share' }, h('summary', {}, t('request.share')),
    form(fd => act(sOut, 'ShareRequest', { requestId: req.requestId, recipients: ids(fd.get('recipients')), subject: fd.get('subject') || '', message: fd.get('message') || '' }),
      field(t('request.recipients'), h('input', { name: 'recipients', required: true, autocomplete: 'off' }), t('request.recipientsHint')),
      field(t('request.subject'), h('input', { name: 'subject' })),
      field(t('request.message'), h('textarea', { name: 'message', rows: '2' })),
      h('button', { type: 'submit' }, t('request.shareSubmit'))), sOut));
  return card;
}

async function requestsPage(main, r) {
  const status = r.params.get('status') === 'completed' ? 'completed' : 'pending';
  const [data, process, groups] = await Promise.all([get('/requests?status=' + status), get('/request-process'),
    can('ListGroups') && can('ApproveRequest') ? get('/groups?limit=200') : Promise.resolve({ groups: [] })]);
  main.append(h('h1', {}, t('requests.title')), h('p', { class: 'lead' }, t('requests.lead')),
    h('nav', { class: 'tabs', 'aria-label': t('requests.filter') },
      ['pending', 'completed'].map(s => h('a', { href: '#/requests?status=' + s, 'aria-current': s === status ? 'page' : null }, t('requests.' + s)))),
    data.requests.length ? h('div', { class: 'cards' }, data.requests.map(q => requestCard(q, can('ApproveRequest'), groups.groups))) : h('p', { class: 'empty' }, t('requests.empty')));
  const pOut = outcomeArea();
  main.append(h('section', { 'aria-labelledby': 'proc-h' }, h('h2', { id: 'proc-h' }, t('process.title')),
    h('p', {}, process.enabled ? t('process.on', { message: process.message }) : t('process.off')),
    can('ConfigureRequestProcess') ? form(fd => act(pOut, 'ConfigureRequestProcess', { enabled: fd.get('enabled') === 'on', message: fd.get('message') || '', link: fd.get('link') || '' }),
      checkbox(t('process.enabled'), { name: 'enabled', checked: process.enabled }),
      field(t('process.message'), h('textarea', { name: 'message', rows: '2' }, process.message)),
      field(t('process.link'), h('input', { name: 'link', type: 'url', value: process.link })),
      h('button', { type: 'submit' }, t('common.save'))) : null, pOut));
}

async function myRequestsPage(main) {
  const [process, mine] = await Promise.all([get('/request-process'), get('/my/requests')]);
  const outcome = outcomeArea();
  main.append(h('h1', {}, t('my.title')), h('p', { class: 'lead' }, t('my.lead')));
  if (process.enabled) main.append(h('div', { class: 'notice', role: 'note' }, process.message, ' ', process.link ? link(process.link, process.link) : null));
  main.append(form(fd => act(outcome, 'RequestLicense', { productId: fd.get('productId'), userIds: ids(fd.get('others') || ''), message: fd.get('message') || '' }),
    field(t('my.product'), h('select', { name: 'productId' }, [...app.products.values()].filter(p => p.assignable).map(p => h('option', { value: p.id }, p.name)))),
    field(t('my.others'), h('input', { name: 'others', autocomplete: 'off' }), t('my.othersHint')),
    field(t('request.message'), h('textarea', { name: 'message', rows: '2' })),
    h('button', { type: 'submit' }, t('my.submit'))), outcome,
  h('h2', {}, t('my.list')),
  mine.requests.length ? h('div', { class: 'cards' }, mine.requests.map(q => requestCard(q, false))) : h('p', { class: 'empty' }, t('requests.empty')));
}

async function download(path, filename, outcome) {
  try {
    const r = await api('GET', tenantPath(path));
    const blob = r instanceof Response ? await r.blob() : new Blob([JSON.stringify(r, null, 2)], { type: 'application/json' });
    const a = h('a', { href: URL.createObjectURL(blob), download: filename });
    document.body.append(a);
    a.click();
    a.remove();
    outcome.replaceChildren(okBox(t('audit.downloaded', { file: filename })));
  } catch (e) {
    outcome.replaceChildren(problemBox(e));
  }
}

async function auditPage(main) {
  main.append(h('h1', {}, t('audit.title')), h('p', { class: 'lead' }, t('audit.lead')));
  // A subject's history.
  const hOut = h('div', { 'aria-live': 'polite' });
  main.append(h('section', { 'aria-labelledby': 'hist-h' }, h('h2', { id: 'hist-h' }, t('audit.history')),
    form(async fd => {
      hOut.replaceChildren();
      try {
        const kind = fd.get('kind');
        const res = await get('/history?' + kind + '=' + encodeURIComponent(fd.get('id')));
        hOut.append(table(t('audit.historyCaption', { subject: kind + ' ' + fd.get('id') }), [
          { label: t('col.sequence'), num: true, cell: e => num(e.sequence) },
          { label: t('col.time'), cell: e => when(e.time) },
          { label: t('col.event'), cell: e => e.type },
          { label: t('col.actor'), cell: e => e.actor },
          { label: t('col.command'), cell: e => e.command },
        ], res.entries, t('audit.noHistory')));
      } catch (e) {
        hOut.append(problemBox(e));
      }
    },
    h('div', { class: 'inline' },
      field(t('audit.kind'), h('select', { name: 'kind' }, ['user', 'product', 'subscription', 'request', 'group'].map(k => h('option', { value: k }, t('subject.' + k))))),
      field(t('audit.id'), h('input', { name: 'id', required: true, autocomplete: 'off' })),
      h('button', { type: 'submit' }, t('audit.show')))), hOut));
  // The state as of an instant.
  const sOut = h('div', { 'aria-live': 'polite' });
  main.append(h('section', { 'aria-labelledby': 'state-h' }, h('h2', { id: 'state-h' }, t('audit.state')),
    form(async fd => {
      sOut.replaceChildren();
      try {
        const at = fd.get('asOf') ? new Date(fd.get('asOf')).toISOString() : new Date().toISOString();
        const st = await get('/state?asOf=' + encodeURIComponent(at));
        sOut.append(h('p', {}, t('audit.stateSummary', { sequence: num(st.sequence), asOf: when(st.asOf), users: num(st.users.length), requests: num(st.requests.filter(q => q.status === 'pending').length) })),
          table(t('audit.stateCaption'), [
            { label: t('col.product'), cell: p => p.name || p.productId },
            { label: t('col.total'), num: true, cell: p => num(p.total) },
            { label: t('col.assigned'), num: true, cell: p => num(p.assigned) },
            { label: t('col.available'), num: true, cell: p => num(p.available) },
          ], st.products));
      } catch (e) {
        sOut.append(problemBox(e));
      }
    },
    h('div', { class: 'inline' }, field(t('audit.asOf'), h('input', { type: 'datetime-local', name: 'asOf', step: '1' })), h('button', { type: 'submit' }, t('audit.show')))), sOut));
  // Reports.
  const rOut = outcomeArea();
  const reportForm = form(() => {},
    h('div', { class: 'inline' },
      field(t('audit.report'), h('select', { name: 'report' }, ['seats', 'activity', 'guests', 'requests'].map(k => h('option', { value: k }, t('report.' + k))))),
      field(t('audit.from'), h('input', { type: 'date', name: 'from' })),
      field(t('audit.to'), h('input', { type: 'date', name: 'to' }))));
  const fetchReport = format => {
    const fd = new FormData(reportForm);
    const p = new URLSearchParams({ format });
    if (fd.get('from')) p.set('from', new Date(fd.get('from')).toISOString());
    if (fd.get('to')) p.set('to', new Date(fd.get('to') + 'T23:59:59').toISOString());
    download('/reports/' + fd.get('report') + '?' + p.toString(), fd.get('report') + '.' + format, rOut);
  };
  main.append(h('section', { 'aria-labelledby': 'rep-h' }, h('h2', { id: 'rep-h' }, t('audit.reports')), reportForm,
    h('div', { class: 'buttons' },
      h('button', { type: 'button', onclick: () => fetchReport('csv') }, t('audit.csv')),
      h('button', { type: 'button', onclick: () => fetchReport('json') }, t('audit.json'))), rOut));
  // The chain check: replaying every event checks each one's link to the one before.
  const cOut = h('div', { 'aria-live': 'polite' });
  main.append(h('section', { 'aria-labelledby': 'chain-h' }, h('h2', { id: 'chain-h' }, t('audit.chain')), h('p', {}, t('audit.chainLead')),
    h('button', {
      type: 'button', onclick: async () => {
        cOut.replaceChildren();
        try {
          const st = await get('/state');
          cOut.append(okBox(t('audit.chainOK', { n: num(st.sequence), head: st.head || '—' })));
        } catch (e) {
          cOut.append(problemBox(e));
        }
      },
    }, t('audit.chainCheck')), cOut));
}

// ---- frame, sign in, live updates ----

function header() {
  const roles = app.me.roles.length ? app.me.roles.map(r => t('role.' + r)).join(', ') : t('role.none');
  const langSel = h('select', { id: 'lang', onchange: async e => { localStorage.setItem(LANG, e.target.value); await loadStrings(e.target.value); await render(); } },
    h('option', { value: 'en', selected: app.lang === 'en', lang: 'en' }, 'English'), h('option', { value: 'fr', selected: app.lang === 'fr', lang: 'fr' }, 'Français'));
  return h('header', { class: 'top' },
    h('a', { href: '#main', class: 'skip' }, t('app.skip')),
    h('div', { class: 'brand' }, t('app.title')),
    h('div', { class: 'who' },
      h('span', {}, t('header.tenant'), ' ', h('strong', { id: 'tenant' }, app.tenant)),
      h('span', {}, t('header.signedIn'), ' ', h('strong', {}, app.me.id)),
      h('span', {}, t('header.roles'), ' ', h('strong', { id: 'roles' }, roles)),
      app.me.partner ? h('span', {}, t('header.partner'), ' ', h('strong', {}, app.me.partner)) : null),
    h('div', { class: 'tools' },
      h('label', { for: 'lang' }, t('header.language')), langSel,
      h('button', { type: 'button', id: 'signout', onclick: () => signOut() }, t('header.signOut'))));
}

function nav(current) {
  return h('nav', { class: 'main-nav', 'aria-label': t('nav.label') },
    h('ul', {}, Object.keys(pages).filter(p => can(pages[p].action)).map(p => h('li', {}, h('a', { href: '#/' + p, 'aria-current': p === current ? 'page' : null }, t('nav.' + p))))));
}

async function render(opts) {
  const root = document.getElementById('app');
  if (!sessionStorage.getItem(TOKEN) || !app.me) return signInPage();
  const r = route();
  if (!pages[r.page] || !can(pages[r.page].action)) {
    location.replace('#/' + firstPage());
    return;
  }
  const main = h('main', { id: 'main', tabindex: '-1' });
  const status = h('div', { id: 'live', class: 'live', role: 'status', 'aria-live': 'polite' });
  const scroll = window.scrollY;
  try {
    await pages[r.page].render(main, r);
  } catch (e) {
    main.append(problemBox(e));
  }
  app.stale = false;
  const same = root.dataset.route === location.hash;
  root.replaceChildren(header(), nav(r.page), status, main);
  root.dataset.route = location.hash;
  if (same) {
    window.scrollTo(0, scroll);
    if (opts && opts.keepOutcome) restoreOutcome(main, opts.keepOutcome);
  } else {
    main.focus({ preventScroll: true });
  }
}

// restoreOutcome shows a command's outcome again after the page reloaded
// what it shows: in the place where its form now is, or at the top.
function restoreOutcome(main, outcome) {
  const box = outcome.firstChild;
  if (!box) return;
  const first = main.querySelector('h1');
  (first || main).after(box);
  box.setAttribute('tabindex', '-1');
  box.focus({ preventScroll: true });
}

function signInPage(problem) {
  const root = document.getElementById('app');
  const outcome = h('div', { 'aria-live': 'assertive' }, problem ? problemBox(problem) : null);
  const langSel = h('select', { id: 'lang', onchange: async e => { localStorage.setItem(LANG, e.target.value); await loadStrings(e.target.value); signInPage(); } },
    h('option', { value: 'en', selected: app.lang === 'en', lang: 'en' }, 'English'), h('option', { value: 'fr', selected: app.lang === 'fr', lang: 'fr' }, 'Français'));
  root.replaceChildren(h('main', { id: 'main', class: 'signin' },
    h('h1', {}, t('app.title')),
    h('p', {}, t('signin.lead')),
    form(async fd => {
      sessionStorage.setItem(TOKEN, fd.get('token'));
      if (fd.get('tenant')) sessionStorage.setItem(TENANT, fd.get('tenant'));
      else sessionStorage.removeItem(TENANT);
      try {
        await start();
      } catch (e) {
        sessionStorage.removeItem(TOKEN);
        app.me = null;
        outcome.replaceChildren(problemBox(e));
      }
    },
    field(t('signin.token'), h('input', { type: 'password', name: 'token', required: true, autocomplete: 'current-password', id: 'token' }), t('signin.tokenHint')),
    field(t('signin.tenant'), h('input', { name: 'tenant', autocomplete: 'off', id: 'signin-tenant' }), t('signin.tenantHint')),
    h('button', { type: 'submit', id: 'signin' }, t('signin.submit'))),
    outcome,
    h('div', { class: 'field lang' }, h('label', { for: 'lang' }, t('header.language')), langSel)));
  const tok = document.getElementById('token');
  if (tok) tok.focus();
}

function signOut(problem) {
  sessionStorage.removeItem(TOKEN);
  sessionStorage.removeItem(TENANT);
  app.me = null;
  app.actions = new Set();
  if (app.stream) app.stream.abort();
  app.stream = null;
  location.hash = '';
  signInPage(problem ? new Problem(problem) : null);
}

async function start() {
  app.me = null;
  const me = await api('GET', '/v1/me');
  app.tenant = sessionStorage.getItem(TENANT) || me.tenant;
  if (!app.tenant) throw new Problem({ code: 'ValidationFailed', detail: t('signin.needTenant') });
  app.me = me;
  try {
    const perms = await get('/permissions');
    app.actions = new Set(perms.actions);
    const cat = await get('/catalog?limit=200');
    app.products = new Map(cat.products.map(p => [p.id, p]));
    app.plans = new Map(cat.products.flatMap(p => p.plans.map(pl => [pl.id, pl.name])));
  } catch (e) {
    app.me = null;
    throw e;
  }
  watch();
  await render();
}

// watch follows the tenant's changes (server-sent events read with fetch,
// which sends the token) and reloads the page when the ledger changes,
// unless the reader is typing in a form: then it offers to reload.
async function watch() {
  if (app.stream) app.stream.abort();
  const ctl = new AbortController();
  app.stream = ctl;
  let timer = null;
  let seen = 0; // the last sequence heard of
  const changed = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (seen <= app.ownSeq) return; // this page's own commands: it reloaded already
      const a = document.activeElement;
      const typing = a && a.closest && a.closest('main form') && ['INPUT', 'TEXTAREA', 'SELECT'].includes(a.tagName) && a.type !== 'checkbox';
      const open = document.querySelector('main details[open]');
      if (typing || open) {
        offerReload();
      } else {
        render().then(() => { const live = document.getElementById('live'); if (live) live.textContent = t('live.updated'); });
      }
    }, 250);
  };
  while (!ctl.signal.aborted) {
    try {
      const r = await fetch(tenantPath('/changes'), { headers: { Authorization: 'Bearer ' + sessionStorage.getItem(TOKEN) }, signal: ctl.signal });
      if (!r.ok || !r.body) throw new Error('changes: ' + r.status);
      document.body.dataset.live = 'on';
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const msg = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = msg.split('\n').find(l => l.startsWith('data:'));
          if (data) {
            let seq = 0;
            try { seq = JSON.parse(data.slice(5)).sequence; } catch (e) { /* a change all the same */ }
            seen = Math.max(seen, seq || Infinity);
            changed();
          }
        }
      }
    } catch (e) {
      if (ctl.signal.aborted) return;
    }
    document.body.dataset.live = 'off';
    await new Promise(res => setTimeout(res, 2000));
  }
}

function offerReload() {
  if (app.stale) return;
  app.stale = true;
  const live = document.getElementById('live');
  if (!live) return;
  live.replaceChildren(t('live.changed'), ' ', h('button', { type: 'button', onclick: () => render() }, t('live.reload')));
}

async function boot() {
  const saved = localStorage.getItem(LANG);
  const lang = saved || document.documentElement.dataset.lang || 'en';
  await loadStrings(lang === 'fr' ? 'fr' : 'en');
  window.addEventListener('hashchange', () => { if (app.me) render(); });
  if (sessionStorage.getItem(TOKEN)) {
    try {
      await start();
      return;
    } catch (e) {
      sessionStorage.removeItem(TOKEN);
      return signInPage(e);
    }
  }
  signInPage();
}

boot();
