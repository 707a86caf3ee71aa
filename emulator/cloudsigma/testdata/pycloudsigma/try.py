"""Runs CloudSigma's own Python library, pycloudsigma, unchanged against
`drivecp serve --cloud cloudsigma`: its drive, snapshot, library drive, job,
capabilities and chunk-upload (InitUpload, Drive.get_upload_chunk_link,
Drive.upload_chunk) calls, as pycloudsigma's acceptance tests make them (sizes
sent as numbers and as strings of digits, full definitions echoed back).

pycloudsigma is not vendored: take its source (github cloudsigma/pycloudsigma,
src/ holds the package). Its imports need requests, configobj, future,
simplejson, websocket-client, iso8601, six and pyserial; Debian's
python3-requests python3-configobj python3-future python3-simplejson
python3-websocket python3-iso8601 python3-six python3-serial provide them for
/usr/bin/python3.

    drivecp serve --cloud cloudsigma --addr 127.0.0.1:18421 --job-duration 200ms &
    CLOUDSIGMA_CONFIG=/nonexistent PYTHONPATH=PYCLOUDSIGMA/src /usr/bin/python3 try.py \
        http://127.0.0.1:18421/api/2.0/ user@example.com secret [session]

A fourth argument `session` logs in with a session cookie instead of Basic.
Prints one line per call, OK or FAIL with the reason, and exits 1 if any
failed.
"""
import sys, time, traceback

from cloudsigma import resource, errors

endpoint, user, password = sys.argv[1:4]
kw = dict(api_endpoint=endpoint, username=user, password=password)
if sys.argv[4:] == ['session']:
    # Cookie login (accounts/action/?do=login) instead of Basic.
    kw['login_method'] = 'session'
drives = resource.Drive(**kw)
snaps = resource.Snapshot(**kw)
libs = resource.LibDrive(**kw)
caps = resource.Capabilites(**kw)
jobs = resource.Jobs(**kw)
results = []


def call(name, fn, check=None):
    try:
        v = fn()
        if check is not None:
            msg = check(v)
            if msg:
                raise AssertionError(msg)
        results.append((name, True, ''))
        print('OK   ', name)
        return v
    except Exception as e:  # report and go on
        results.append((name, False, repr(e)[:300]))
        print('FAIL ', name, repr(e)[:300])
        return None


def wait_status(res, uuid, want, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        st = res.get(uuid)['status']
        if st == want:
            return st
        time.sleep(0.1)
    raise AssertionError('%s still not %s' % (uuid, want))


def expect_error(name, fn, code=404):
    def run():
        try:
            fn()
        except errors.ClientError as e:
            if e.status_code != code:
                raise
            return
        raise AssertionError('no error')
    call(name, run)


is_int = lambda v, k: None if isinstance(v.get(k), int) else '%s is %r, not an integer' % (k, v.get(k))

# Drives, as pycloudsigma's test_drives does them.
d = call('Drive.create (size as a number)', lambda: drives.create({'name': 'pycs', 'size': 1024000000, 'media': 'disk'}),
         lambda v: is_int(v, 'size') or (None if v['status'] == 'creating' else 'status %r, not creating' % v['status']))
if d:
    # test_drive_cycle asserts a new drive is `creating`, then waits.
    call('Drive.create: wait for unmounted', lambda: wait_status(drives, d['uuid'], 'unmounted'))
d2 = call('Drive.create (size as a string)', lambda: drives.create({'name': 'pycs str', 'size': '1024000000', 'media': 'disk'}),
          lambda v: is_int(v, 'size'))
call('Drive.create (several, sizes as strings)', lambda: drives.create([{'name': 'pycs %d' % i, 'size': '1024000000', 'media': 'disk'} for i in range(3)]),
     lambda v: None if isinstance(v, list) and len(v) == 3 else 'got %r' % (v,))
call('Drive.list', lambda: drives.list(), lambda v: None if len(v) >= 5 and 'uuid' in v[0] else repr(v)[:100])
call('Drive.list_detail', lambda: drives.list_detail(), lambda v: None if 'size' in v[0] else repr(v)[:100])
call('Drive.list (filter name)', lambda: drives.list({'name': 'pycs'}), lambda v: None if len(v) == 1 else repr(v)[:100])
call('Drive.get', lambda: drives.get(d['uuid']), lambda v: None if v['uuid'] == d['uuid'] else repr(v)[:100])
call('Drive.get_schema', lambda: drives.get_schema(), lambda v: None if 'size' in v['fields'] else repr(v)[:100])
if d:
    full = drives.get(d['uuid'])
    full['name'] = 'pycs renamed'
    full['size'] = 2 * 1024000000
    call('Drive.update (full echoed definition, bigger size)', lambda: drives.update(d['uuid'], full),
         lambda v: None if v['name'] == 'pycs renamed' and v['size'] == 2 * 1024000000 else repr(v)[:200])
    call('Drive.update: wait for unmounted', lambda: wait_status(drives, d['uuid'], 'unmounted'))
    full = drives.get(d['uuid'])
    full['size'] = 2 * full['size']
    call('Drive.resize', lambda: drives.resize(d['uuid'], full), lambda v: None if v['size'] == full['size'] else repr(v)[:200])
    call('Drive.resize: wait for unmounted', lambda: wait_status(drives, d['uuid'], 'unmounted'))
    c = call('Drive.clone', lambda: drives.clone(d['uuid'], {'name': 'pycs clone', 'media': 'cdrom'}),
             lambda v: None if v['name'] == 'pycs clone' and v['jobs'] else repr(v)[:200])
    call('Drive.clone: wait for unmounted', lambda: wait_status(drives, c['uuid'], 'unmounted'))
    call('Drive.clone (avoid)', lambda: drives.clone(d['uuid'], avoid=[d2['uuid']]), lambda v: None if 'uuid' in v else repr(v)[:200])
    call('Drive.clone (avoid): wait for the source', lambda: wait_status(drives, d['uuid'], 'unmounted'))
    if c and c.get('jobs'):
        call('Jobs.get (the clone\'s job)', lambda: jobs.get(c['jobs'][0]['uuid']), lambda v: None if v['state'] in ('started', 'success') else repr(v))
    call('Jobs.list', lambda: jobs.list(), lambda v: None if v else 'empty')

# Snapshots, as test_snapshots does them.
call('Snapshot.get_schema', lambda: snaps.get_schema(), lambda v: None if 'drive' in v['fields'] else repr(v)[:100])
s = call('Snapshot.create', lambda: snaps.create({'drive': d['uuid'], 'name': 'pycs snap', 'meta': {'key': 'val'}}),
         lambda v: None if 'grantees' in v and 'permissions' in v else repr(v)[:200])
s2 = call('Snapshot.create (drive only)', lambda: snaps.create({'drive': d['uuid']}))
call('Snapshot: wait for available', lambda: wait_status(snaps, s['uuid'], 'available'))
call('Snapshot.get', lambda: snaps.get(s['uuid']), lambda v: None if v['drive']['uuid'] == d['uuid'] else repr(v)[:200])
call('Snapshot.list', lambda: snaps.list(), lambda v: None if len(v) >= 2 else repr(v)[:100])
call('Snapshot.list_detail (filter drive)', lambda: snaps.list_detail({'drive': d['uuid']}), lambda v: None if len(v) == 2 else repr(v)[:100])
if s:
    s_full = snaps.get(s['uuid'])
    s_full['name'] = 'pycs snap renamed'
    call('Snapshot.update', lambda: snaps.update(s['uuid'], s_full), lambda v: None if v['name'] == 'pycs snap renamed' else repr(v)[:200])
    sc = call('Snapshot.clone (avoid)', lambda: snaps.clone(s['uuid'], avoid=d['uuid']), lambda v: None if 'uuid' in v else repr(v)[:200])
    call('Snapshot.clone (name)', lambda: snaps.clone(s['uuid'], {'name': 'from snap'}), lambda v: None if v['name'] == 'from snap' else repr(v)[:200])
if s2:
    call('Snapshot: wait for available (2)', lambda: wait_status(snaps, s2['uuid'], 'available'))
    call('Snapshot.delete', lambda: snaps.delete(s2['uuid']))
    expect_error('Snapshot.get after delete raises ClientError 404', lambda: snaps.get(s2['uuid']))

# Library drives.
call('LibDrive.get_schema', lambda: libs.get_schema(), lambda v: None if 'favourite' in v['fields'] else repr(v)[:100])
ls = call('LibDrive.list', lambda: libs.list(), lambda v: None if v and 'favourite' in v[0] and v[0]['owner'] is None else repr(v)[:200])
call('LibDrive.list_detail', lambda: libs.list_detail({'os': 'linux'}), lambda v: None if len(v) == 2 else repr(v)[:100])
if ls:
    call('LibDrive.get', lambda: libs.get(ls[0]['uuid']), lambda v: None if v['uuid'] == ls[0]['uuid'] else repr(v)[:100])
    call('Drive.get of a library drive', lambda: drives.get(ls[0]['uuid']),
         lambda v: None if v['owner'] is None and '/drives/' in v['resource_uri'] else repr(v)[:200])
    call('LibDrive clone (_action)', lambda: libs._action(ls[0]['uuid'], 'clone', {'name': 'from lib'}),
         lambda v: None if v['name'] == 'from lib' else repr(v)[:200])

# Capabilities.
call('Capabilites.get', lambda: caps.get(), lambda v: None if {'drives', 'servers', 'snapshots'} <= set(v) else repr(v)[:200])
call('Capabilites.get_schema', lambda: caps.get_schema(), lambda v: None if 'drives' in v['fields'] else repr(v)[:100])

# The chunk uploader of resource.Drive (upload_chunk): initupload, then a
# link per 0-based chunk. Drive.upload_chunk reads the image in text mode (a
# Python 3 bug of the library), so the image here is ASCII, which it reads
# unchanged.
import os, tempfile
chunk = 1024 ** 2
with tempfile.NamedTemporaryFile('w', suffix='.img', delete=False) as f:
    f.write(('0123456789abcdef' * (chunk // 16)) * 2 + 'x' * (chunk // 2))
    image = f.name
up = call('InitUpload.create', lambda: resource.InitUpload(**kw).create({'name': 'pycs upload', 'media': 'disk'}, image_path=image),
          lambda v: None if v['status'] == 'uploading' and v['size'] == os.path.getsize(image) else repr(v)[:200])
if up:
    for n in range(2):
        link = call('Drive.get_upload_chunk_link %d' % n, lambda: drives.get_upload_chunk_link(up['uuid'], n, chunk))
        call('Drive.upload_chunk %d' % n, lambda: drives.upload_chunk(link, image, n, chunk),
             lambda v: None if v.status_code == 200 else '%d %s' % (v.status_code, v.text))
    expect_error('Drive.get_upload_chunk_link of a stored chunk raises ClientError 416',
                 lambda: drives.get_upload_chunk_link(up['uuid'], 0, chunk), 416)
    call('uploaded drive is unmounted', lambda: drives.get(up['uuid']), lambda v: None if v['status'] == 'unmounted' else v['status'])
os.unlink(image)

# Deletes last.
call('Drive.delete', lambda: drives.delete(d2['uuid']))
expect_error('Drive.get after delete raises ClientError 404', lambda: drives.get(d2['uuid']))

bad = [r for r in results if not r[1]]
print('%d calls, %d failed' % (len(results), len(bad)))
sys.exit(1 if bad else 0)
