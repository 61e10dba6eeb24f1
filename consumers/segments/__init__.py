"""The segment store: each call's audio, kept only where its recording state allows.

Parts
- `port.SegmentStore`: immutable objects under keys, each written whole and
  atomically (an object store fits behind it); `filesystem.FilesystemSegmentStore`
  is the default adapter, under `<data_dir>/recordings` (layout in `layout`).
- `desk.SegmentDesk`: holds incoming audio in memory until the call's state at
  its time is known, then writes or drops it (`decide`, `writer`).
- `consumer.SegmentConsumer`: the desk fed by the event feed, with the sweeper.
- `library`: manifests, and closed recordings' WAV files read in byte ranges, for
  the HTTP API (`recaudit.http.audio`); an open recording has no file yet.

Media time and boundaries (`audio`)
- A chunk's `at` is the media time of its first sample, on the clock of the
  commands' `at`. Sample n of rate R starts at n / R s after the Unix epoch; the
  chunk's first sample is the grid sample nearest to `at`.
- A sample is written iff its start lies in a `recording` interval [start, end)
  of the call, in whole milliseconds: samples start_ms * R / 1000 up to, not
  including, end_ms * R / 1000. A d ms interval holds exactly d * R / 1000 samples.

When audio is decided
- Known state: once the consumer has applied a state change of the call dated
  T, every sample starting before T is decided (strictly before: another
  accepted command may carry the very same `at`). CallEnded decides the rest.
- Lateness bound (RECAUDIT_AUDIO_LATENESS_MS, default 10000): audio whose
  media time is older than now minus the bound is decided with the state known
  then. The desk first claims that time (commands dated before it are refused
  `too_late` from then on), passes a barrier through the group committer, and
  waits until the consumer has applied the call's events up to their latest
  stored version, so no command accepted before the claim can be missed.
- A capped pause still open when audio past its deadline (pause time plus the
  call's `max_pause_ms`) is decided has ended by itself at the deadline, as in
  the domain, whether or not its automatic RecordingResumed has been applied
  yet; when that event comes it changes nothing (`callstate.resume_if_due`).
- The decided point only moves over audio actually received (or a claimed
  time), so audio still on its way is not refused. A chunk starting before it
  is refused 409 `audio_overlap`, unless it is an exact repeat (same first
  sample, same bytes) of a chunk held, or decided within the last 2 s: that is
  answered 202 and changes nothing.
- A chunk starting before its call started is refused 409 `audio_before_call`
  (the call's start comes from the event store while the consumer has not
  applied the CallStarted yet): no state could ever keep it, and nothing
  accepted is ever dropped unseen.
- A recording is finished (WAV and manifest written, parts removed) once its
  audio is decided up to its stop; a call is done once decided up to its end,
  after which its audio is refused 409 `call_ended`. Samples of a recording
  interval that never arrived are silence (counted as `missing_samples`; the
  manifest's `audio` is `complete`, `partial` or `none`), also when the call
  never sent any audio (then at the default rate, 8000 Hz).

Memory bounds (RECAUDIT_AUDIO_HELD_CALL_BYTES, RECAUDIT_AUDIO_HELD_TOTAL_BYTES)
- Undecided audio is held in memory only, never on disk. A chunk that would
  take a call or the server over its bound is refused 429 `audio_backlog_full`
  (Retry-After: 1) and nothing is held; a chunk larger than a call may ever hold
  is 413 `chunk_too_large`. Held audio is lost if the process stops: it was
  never written, so nothing unsure reaches the disk.

Pause behaviour: `skip` joins the recording intervals; `silence` keeps the
recording's wall span with its pauses as zeros. The manifest lists segments
and pauses either way, and `sha256` is that of the WAV file served.

Durability: parts, then a finished recording's WAV and manifest, then the
call's state (with its event version), then the consumer's position, each
written atomically; a restart resumes from the position and skips events a
call's state already has. The desk and the audio endpoint must share a process.
"""

from consumers.segments.consumer import SegmentConsumer
from consumers.segments.desk import Accepted, AudioLimits, SegmentDesk
from consumers.segments.filesystem import FilesystemSegmentStore, OsFileOps
from consumers.segments.port import SegmentStore

__all__ = [
    "Accepted",
    "AudioLimits",
    "FilesystemSegmentStore",
    "OsFileOps",
    "SegmentConsumer",
    "SegmentDesk",
    "SegmentStore",
]
