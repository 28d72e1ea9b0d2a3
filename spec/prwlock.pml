/*
 * prwlock.pml -- Promela model of the swift-prwlock protocol (docs/DESIGN.md,
 * Sources/PRWLock/Protocol/*.swift). See spec/README.md for the mapping, the abstractions and
 * the properties. spec/check runs every configuration and every mutant.
 *
 * Three participants (one thread each) on slots 0..2; process p owns slot p. Every shared-memory
 * access of the code is one Promela statement (an `atomic` groups exactly one load, store or RMW
 * with the purely local bookkeeping around it), so a participant can be killed between any two of
 * them: the killer process sets alive[v] = 0 and drops every OFD byte lock of v's description,
 * and v's body is left through `unless { !alive[me] }`.
 *
 * Configuration macros (spin -D...):
 *   LIVE        infinite acquire/release loops (for the LTL properties); default: ITER rounds
 *   ITER        rounds per participant when !LIVE (default 2)
 *   MAXKILL     deaths in a run (default 1)
 *   SPUR        spurious futex wake-ups in a run (default 1)
 *   PHASES      reader phases that may run out (2 ms bound) in a run (default 1)
 *   NO_TRY, NO_TIMED   drop try / timed acquisitions
 *   ROLE0..2    0 reader, 1 writer, 2 either (default: 1, 0, 2)
 *   FIX_PHASE_SPIN     the suggested fix for the phase-end busy wait (README, "Findings")
 * Mutants: MUTANT_xxx, see the #ifdef blocks and spec/mutants/.
 */

#define N 3
#define RS 128                      /* READERS_SLEEPING, bit 31 of W */
#define OWN(w) ((w) & 127)          /* OWNER: slot + 1, 0 = no writer */

#ifndef ITER
#define ITER 2
#endif
#ifndef MAXKILL
#define MAXKILL 1
#endif
#ifndef SPUR
#define SPUR 1
#endif
#ifndef PHASES
#define PHASES 1
#endif
#ifndef ROLE0
#define ROLE0 1
#endif
#ifndef ROLE1
#define ROLE1 0
#endif
#ifndef ROLE2
#define ROLE2 2
#endif

#define FOREVER 0
#define TRY     1
#define TIMED   2

#define AGAIN    0
#define CHECK    1
#define DEADLINE 2

/* ---------------------------------------------------------------- shared memory */
byte W;                 /* lock word: OWNER | READERS_SLEEPING                       */
bool EWS;               /* E bit 0: WRITERS_SLEEPING                                 */
bool bumped[N];         /* E's sequence moved since p took its snapshot (see README) */
bool ownerDied;
byte R[N];              /* slot.readers                                              */
byte WR[N];             /* slot.waitingReaders                                       */
bool HW[N];             /* slot.holdsWrite                                           */
bool ST[N];             /* slot.state (1 attached)                                   */
byte BM;                /* attached bitmap, one word: bit s                          */
byte SLK[N];            /* OFD byte lock s: holder process + 1, 0 free               */

/* kernel: futex waiter sets */
bool qW[N];
bool qE[N];

/* environment */
bool alive[N];
bool running[N];
byte kills;
byte spur = SPUR;
byte phases = PHASES;

/* ghosts (never read by the protocol) */
bool inR[N];            /* in a read critical section                                */
bool inW[N];            /* holds for write (from holdsWrite = 1 to WR2)              */
bool att[N];            /* attach finished (the participant is up)                   */
bool waiting[N];        /* inside a blocking (non-try) acquire                       */
bool rd[N];             /* inside read acquire / hold / release                      */
bool wr[N];             /* inside write acquire / hold / release                     */
bool mustNotice;        /* a writer died with holdsWrite = 1, and no writer that was told
                           (and acquired after that death) has finished its release     */
byte hwDeaths;          /* deaths with holdsWrite = 1 so far                           */

/* ---------------------------------------------------------------- futexes */
inline wakeAllW() { d_step { qW[0] = 0; qW[1] = 0; qW[2] = 0 } }

inline wakeAllE() {
#ifdef MUTANT_WAKE_ONE
  /* futex_wake(E, 1) instead of all */
  if
  :: atomic { qE[0] -> qE[0] = 0 }
  :: atomic { qE[1] -> qE[1] = 0 }
  :: atomic { qE[2] -> qE[2] = 0 }
  :: atomic { !qE[0] && !qE[1] && !qE[2] -> skip }
  fi
#else
  d_step { qE[0] = 0; qE[1] = 0; qE[2] = 0 }
#endif
}

/* WaitClock.sleep + futex_wait. The deadline may be found passed on entry (timed acquisitions).
   The compare-and-block is one atomic step. A blocked waiter leaves when woken, spuriously
   (bounded budget), at a 5 ms liveness slice (enabled only once somebody has died: among live
   participants every wake-up must come from a futex_wake, so a lost wake-up shows up as an
   invalid end state or a liveness violation), at its deadline, or (a writer passing wakeBy:
   phaseEnd) at the end of its reader phase. A liveness slice returns CHECK directly (in the code
   the next sleep() call returns .checkLiveness); see README. */
inline sleepW(v) {
  if
  :: mode == TIMED -> res = DEADLINE
  :: true ->
     atomic { if :: W == v -> qW[me] = 1 :: else -> skip fi }
     if
     :: !qW[me] -> res = AGAIN
     :: atomic { qW[me] && spur > 0 -> spur--; qW[me] = 0; res = AGAIN }
     :: atomic { qW[me] && kills > 0 -> qW[me] = 0; res = CHECK }
     :: atomic { qW[me] && mode == TIMED -> qW[me] = 0; res = DEADLINE }
     fi
  fi
}

/* pa: the wait passes wakeBy: phaseEnd. Once the phase is over that bound is in the past and
   futex_wait returns ETIMEDOUT at once. */
inline sleepE(pa) {
  if
  :: mode == TIMED -> res = DEADLINE
  :: true ->
     if
     :: (pa) && phaseOver -> res = AGAIN
     :: else ->
        atomic { if :: !bumped[me] -> qE[me] = 1 :: else -> skip fi }
        if
        :: !qE[me] -> res = AGAIN
        :: atomic { qE[me] && spur > 0 -> spur--; qE[me] = 0; res = AGAIN }
        :: atomic { qE[me] && kills > 0 -> qE[me] = 0; res = CHECK }
        :: atomic { qE[me] && mode == TIMED -> qE[me] = 0; res = DEADLINE }
        :: atomic { qE[me] && (pa) && !phaseOver && phases > 0 -> qE[me] = 0; phases--; phaseOver = 1; res = AGAIN }
        fi
     fi
  fi
}

/* wakeWriters(): load E; only if WRITERS_SLEEPING: CAS E to (e + 2) & ~1, then futex_wake(E, all).
   The CAS retry loop is one atomic "if the bit is still set, bump"; bumping sets bumped[*]. */
inline wakeWriters() {
  if
  :: EWS ->
     atomic { if :: EWS -> EWS = 0; bumped[0] = 1; bumped[1] = 1; bumped[2] = 1; ew = 1 :: else -> ew = 0 fi }
     if :: ew -> ew = 0; wakeAllE() :: else -> skip fi
  :: else -> skip
  fi
}

/* prepareToWaitOnEvent(): set WRITERS_SLEEPING by CAS; the value returned is the snapshot. */
inline prepareE() { atomic { EWS = 1; bumped[me] = 0 } }

/* ---------------------------------------------------------------- recovery */
/* clear(s): recovery steps 1-4 (also attach's clear of its own slot). */
inline clear(s) {
  cw = W;
  if
  :: OWN(cw) == s + 1 ->
#if defined(MUTANT_OD_ALWAYS)
     ownerDied = 1;
#elif defined(MUTANT_OD_NEVER)
     skip;
#else
     if :: HW[s] -> ownerDied = 1 :: else -> skip fi;
#endif
     do
     :: atomic { W == cw -> W = 0; ct = 1; break }
     :: atomic { W != cw -> cw = W; if :: OWN(cw) != s + 1 -> ct = 0; break :: else -> skip fi }
     od;
     if :: ct && (cw & RS) -> wakeAllW() :: else -> skip fi;
     ct = 0
  :: else -> skip
  fi;
  cw = 0;
#ifndef MUTANT_CLEAR_KEEPS_R
  R[s] = 0;
#endif
  WR[s] = 0;
  HW[s] = 0;
  BM = BM & ~(1 << s);
  ST[s] = 0;
  wakeWriters()
}

/* recoverIfDead(rs): never our own slot; F_OFD_SETLK on byte rs; if won and the slot has state,
   clear it; unlock. slotHasState's loads are one step: under the slot lock of a dead owner no
   one else writes those fields (W only away from rs+1). */
inline recoverIfDead() {
  if
  :: rs == me -> skip
  :: else ->
     atomic { if :: SLK[rs] == 0 -> SLK[rs] = me + 1; lk = 1 :: else -> lk = 0 fi }
     if
     :: lk ->
        if
        :: atomic { (ST[rs] || OWN(W) == rs + 1 || ((BM >> rs) & 1) || R[rs] != 0 || WR[rs] != 0) ->
             assert(!att[rs]) }            /* never a live participant's slot */
           clear(rs); rec = 1
        :: else -> skip
        fi;
        atomic { SLK[rs] = 0; lk = 0 }
     :: else -> skip
     fi
  fi;
  rs = 0
}

/* firstAttachedSlot / attachedSlots: one load of the bitmap word, then one load per slot. */
#define QCHK(k) if :: qd == 0 && ((snap >> k) & 1) && WR[k] != 0 -> qd = k + 1 :: else -> skip fi
#define BCHK(k) if :: bz == 0 && ((snap >> k) & 1) && R[k] != 0 -> bz = k + 1 :: else -> skip fi
inline queuedReaderSlot() { snap = BM; qd = 0; QCHK(0); QCHK(1); QCHK(2); snap = 0 }
inline busyReaderSlot()   { snap = BM; bz = 0; BCHK(0); BCHK(1); BCHK(2); snap = 0 }

#define RQ(k) if :: ((rsnap >> k) & 1) && WR[k] != 0 -> rs = k; recoverIfDead() :: else -> skip fi
#define RR(k) if :: ((rsnap >> k) & 1) && R[k] != 0 -> rs = k; recoverIfDead() :: else -> skip fi

/* recoverDeadBlockers(owner: ow, queued: q) */
inline recoverDeadBlockers(ow, q) {
  if :: ow != 0 -> rs = ow - 1; recoverIfDead() :: else -> skip fi;
  if :: q != 0 -> rsnap = BM; RQ(0); RQ(1); RQ(2); rsnap = 0 :: else -> skip fi
}
inline recoverDeadReaders() { rsnap = BM; RR(0); RR(1); RR(2); rsnap = 0 }

/* ---------------------------------------------------------------- read */
/* tryEnterRead, R1-R4 */
inline tryEnterRead() {
#ifdef MUTANT_DEKKER
  w = W;                                   /* looks at W before publishing */
  R[me]++;
  if
  :: OWN(w) == 0 -> atomic { got = 1; inR[me] = 1; w = 0 }
#else
  R[me]++;                                 /* R1 */
  if
  :: atomic { OWN(W) == 0 -> got = 1; inR[me] = 1 }      /* R2, R3 */
#endif
  :: else ->
     w = 0;
     atomic { R[me]--; left = R[me] }     /* R4 */
     if
     :: left == 0 && OWN(W) != 0 -> left = 0; wakeWriters()
     :: else -> left = 0
     fi;
     got = 0
  fi
}

inline acquireRead() {
  rd[me] = 1;
  tryEnterRead();                                  /* fast path */
  if
  :: got -> skip
  :: else ->
     tryEnterRead();                               /* acquireReadSlow's first attempt */
     if
     :: got -> skip
     :: else ->
        if
        :: mode == TRY ->
           w = W;
           if
           :: OWN(w) != 0 -> rs = OWN(w) - 1; w = 0; recoverIfDead();
              if :: rec -> rec = 0; tryEnterRead() :: else -> skip fi
           :: else -> w = 0
           fi
        :: else ->
           atomic { WR[me]++; waiting[me] = 1 }    /* R6 */
rloop:     w = W;
           if
           :: OWN(w) == 0 ->
              w = 0;
              tryEnterRead();
              if :: got -> goto rdone :: else -> goto rloop fi
           :: else -> skip
           fi;
#ifndef MUTANT_NO_RS_SET
           if
           :: (w & RS) == 0 ->
              atomic { if :: W == w -> W = w | RS; w = w | RS :: else -> w = 0; goto rloop fi }
           :: else -> skip
           fi;
#endif
           sleepW(w);
           if
           :: res == AGAIN -> res = 0; w = 0; goto rloop
           :: res == CHECK -> res = 0; rs = OWN(w) - 1; w = 0; recoverIfDead(); rec = 0; goto rloop
           :: res == DEADLINE -> res = 0; rs = OWN(w) - 1; w = 0; recoverIfDead();
              if :: rec -> rec = 0; goto rloop :: else -> skip fi
           fi;
rdone:     WR[me]--;                               /* defer: dequeue, then wake writers */
           wakeWriters()
        fi
     fi
  fi;
  atomic { waiting[me] = 0; if :: !got -> rd[me] = 0 :: else -> skip fi }
}

/* RR1-RR2 */
inline releaseRead() {
  atomic { assert(R[me] > 0); left = R[me]; R[me]--; inR[me] = 0 }
  if
  :: left == 1 && OWN(W) != 0 -> left = 0; wakeWriters()
  :: else -> left = 0
  fi;
  rd[me] = 0
}

/* ---------------------------------------------------------------- write */
inline hold() {
  atomic { HW[me] = 1; inW[me] = 1 }              /* W4 */
  atomic { notice = ownerDied;                    /* LockAcquisition.previousWriterDied */
           assert(notice || !mustNotice);         /* owner-died notice is never missed */
           myd = hwDeaths }
  granted = 1
}

inline abandonClaim() {
  cw = W;
  do
  :: OWN(cw) != me + 1 -> break
  :: else ->
     atomic { if :: W == cw -> W = 0; ct = 1 :: else -> cw = W; ct = 0 fi }
     if :: ct -> break :: else -> skip fi
  od;
#ifndef MUTANT_NO_RS_WAKE
  if :: ct && (cw & RS) -> wakeAllW() :: else -> skip fi;
#endif
  atomic { cw = 0; ct = 0; wr[me] = 0 }
  wakeWriters()
}

/* blockers(): (owner, queued) of the claim loop, with the reader phase. */
inline blockers() {
  w = W;
  owner = OWN(w);
  assert(owner != 0 || w == 0);                   /* corruptSegment cannot arise */
  w = 0;
  qd = 0;
  if
  :: owner == 0 && mode != TRY ->
     queuedReaderSlot();
     if
     :: qd != 0 ->
        if
        :: !deferring -> deferring = 1                     /* deferringSince = now */
        :: deferring -> skip                               /* phase still running */
        :: deferring && !phaseOver && phases > 0 -> phases--; phaseOver = 1   /* 2 ms passed */
        fi;
        if
        :: phaseOver ->
           if
           :: !phaseChk -> phaseChk = 1; recoverDeadBlockers(0, qd); rec = 0
           :: else -> skip
           fi;
           qd = 0
        :: else -> skip
        fi
     :: else -> skip
     fi
  :: else -> skip
  fi
}

#ifdef FIX_PHASE_SPIN
#define PHASE_ARG (qd != 0)
#else
#define PHASE_ARG deferring
#endif

inline acquireWrite() {
  wr[me] = 1;
  /* tryEnterWrite: W1-W4 */
  queuedReaderSlot();
  if
  :: qd != 0 -> qd = 0
  :: else ->
     atomic { if :: W == 0 -> W = me + 1; claimed = 1 :: else -> skip fi }
     if
     :: claimed ->
        busyReaderSlot();
        if :: bz == 0 -> hold() :: else -> bz = 0 fi
     :: else -> skip
     fi
  fi;
  if
  :: granted -> goto wend
  :: else -> skip
  fi;
  atomic { if :: mode != TRY -> waiting[me] = 1 :: else -> skip fi }
  if :: claimed -> goto wdrain :: else -> skip fi;
wloop:
  blockers();
  if
  :: owner == 0 && qd == 0 ->
     atomic { if :: W == 0 -> W = me + 1; claimed = 1 :: else -> skip fi }
     if :: claimed -> goto wdrain :: else -> goto wloop fi
  :: else -> skip
  fi;
  if
  :: mode == TRY ->
     if
     :: !checked -> recoverDeadBlockers(owner, qd);
        if :: rec -> rec = 0; checked = 1; owner = 0; qd = 0; goto wloop :: else -> skip fi
     :: else -> skip
     fi;
     goto wfail
  :: else -> skip
  fi;
  prepareE();
#ifndef MUTANT_NO_RECHECK
  blockers();                                     /* re-check after announcing ourselves */
  if :: owner == 0 && qd == 0 -> goto wloop :: else -> skip fi;
#endif
  sleepE(PHASE_ARG);
  if
  :: res == AGAIN -> res = 0; owner = 0; qd = 0; goto wloop
  :: res == CHECK -> res = 0; recoverDeadBlockers(owner, qd); rec = 0; owner = 0; qd = 0; goto wloop
  :: res == DEADLINE -> res = 0; recoverDeadBlockers(owner, qd); owner = 0; qd = 0;
     if :: rec -> rec = 0; goto wloop :: else -> goto wfail fi
  fi;
wdrain:
  checked = 0; owner = 0; qd = 0;
dloop:
  busyReaderSlot();
  if :: bz == 0 -> hold(); goto wend :: else -> bz = 0 fi;
  if
  :: mode == TRY ->
     if
     :: !checked -> recoverDeadReaders();
        if :: rec -> rec = 0; checked = 1; goto dloop :: else -> skip fi
     :: else -> skip
     fi;
     abandonClaim(); goto wfail
  :: else -> skip
  fi;
  prepareE();
#ifndef MUTANT_NO_RECHECK
  busyReaderSlot();
  if :: bz == 0 -> goto dloop :: else -> bz = 0 fi;
#endif
  sleepE(0);
  if
  :: res == AGAIN -> res = 0; goto dloop
  :: res == CHECK -> res = 0; recoverDeadReaders(); rec = 0; goto dloop
  :: res == DEADLINE -> res = 0; recoverDeadReaders();
     if :: rec -> rec = 0; goto dloop :: else -> skip fi;
     abandonClaim()
  fi;
wfail:
  wr[me] = 0;
wend:
  waiting[me] = 0
}

/* WR1-WR5 */
inline releaseWrite() {
  assert(OWN(W) == me + 1);                                   /* WR1 */
  atomic { assert(HW[me]); HW[me] = 0; inW[me] = 0 }          /* WR2 */
#ifndef MUTANT_WR3_LATE
  if                                                          /* WR3 */
  :: ownerDied -> atomic { ownerDied = 0; if :: notice && myd == hwDeaths -> mustNotice = 0 :: else -> skip fi }
  :: else -> skip
  fi;
#endif
  abandonClaim();                                             /* WR4, WR5 */
#ifdef MUTANT_WR3_LATE
  if
  :: ownerDied -> atomic { ownerDied = 0; if :: notice && myd == hwDeaths -> mustNotice = 0 :: else -> skip fi }
  :: else -> skip
  fi;
#endif
  skip
}

/* ---------------------------------------------------------------- attach */
inline attach() {
  atomic { SLK[me] == 0 -> SLK[me] = me + 1 }     /* the slot lock becomes our token */
  clear(me);
  ST[me] = 1;
  atomic { BM = BM | (1 << me); att[me] = 1 }
}

/* ---------------------------------------------------------------- participants */
proctype P(byte me; byte role) {
  byte w, left, rs, cw, snap, rsnap, qd, bz, owner, res, mode, op, myd, it;
  bool got, lk, rec, ct, ew, claimed, granted, notice, deferring, phaseOver, phaseChk, checked;

start:
  {
    if :: att[me] -> skip :: else -> attach() fi;
    do
#ifdef LIVE
    :: true ->
#else
    :: it < ITER -> it++;
#endif
       if
       :: role == 0 -> op = 0
       :: role == 1 -> op = 1
       :: role == 2 -> op = 0
       :: role == 2 -> op = 1
       fi;
       if
       :: mode = FOREVER
#ifndef NO_TRY
       :: mode = TRY
#endif
#ifndef NO_TIMED
       :: mode = TIMED
#endif
       fi;
       if
       :: op == 0 ->
          acquireRead();
          if :: got -> releaseRead() :: else -> skip fi
       :: else ->
          acquireWrite();
          if :: granted -> releaseWrite() :: else -> skip fi
       fi;
       d_step { got = 0; granted = 0; claimed = 0; notice = 0; deferring = 0; phaseOver = 0;
                phaseChk = 0; checked = 0; mode = 0; op = 0; myd = 0 }
#ifndef LIVE
    :: it == ITER -> break
#endif
    od;
    running[me] = 0
  } unless { !alive[me] };
  if
  :: !alive[me] ->
     d_step { w = 0; left = 0; rs = 0; cw = 0; snap = 0; rsnap = 0; qd = 0; bz = 0; owner = 0;
              res = 0; mode = 0; op = 0; myd = 0; got = 0; lk = 0; rec = 0; ct = 0; ew = 0;
              claimed = 0; granted = 0; notice = 0; deferring = 0; phaseOver = 0; phaseChk = 0;
              checked = 0 }
     if
     :: alive[me] = 1; goto start                  /* a new process takes the slot again */
     :: running[me] = 0                            /* stays dead */
     fi
  :: else -> skip
  fi
}

/* A participant dies: its token and any slot lock it held for recovery drop with its open
   file description; a futex waiter leaves the kernel's queue. Everything in shared memory stays. */
active proctype killer() {
  byte v;
  do
  :: atomic {
       kills < MAXKILL && ((alive[0] && running[0]) || (alive[1] && running[1]) || (alive[2] && running[2])) ->
       if
       :: alive[0] && running[0] -> v = 0
       :: alive[1] && running[1] -> v = 1
       :: alive[2] && running[2] -> v = 2
       fi;
       alive[v] = 0;
       if :: SLK[0] == v + 1 -> SLK[0] = 0 :: else -> skip fi;
       if :: SLK[1] == v + 1 -> SLK[1] = 0 :: else -> skip fi;
       if :: SLK[2] == v + 1 -> SLK[2] = 0 :: else -> skip fi;
       qW[v] = 0; qE[v] = 0;
       if :: HW[v] -> mustNotice = 1; hwDeaths++ :: else -> skip fi;
       inR[v] = 0; inW[v] = 0; att[v] = 0; waiting[v] = 0; rd[v] = 0; wr[v] = 0;
       kills++; v = 0
     }
  :: break
  od
}

#ifndef LIVE
/* Safety invariants, checked in every reachable state. */
#define MUTEX(p, q, r) (!inW[p] || (!inR[p] && !inR[q] && !inW[q] && !inR[r] && !inW[r]))
#define INV_P(p, q, r) ( MUTEX(p, q, r) \
  && (!inW[p] || (OWN(W) == p + 1 && HW[p])) \
  && (!inR[p] || R[p] > 0) \
  && (!(alive[p] && att[p]) || (ST[p] && ((BM >> p) & 1) && SLK[p] == p + 1)) \
  && (!(alive[p] && att[p]) || rd[p] || (R[p] == 0 && WR[p] == 0)) \
  && (!(alive[p] && att[p]) || wr[p] || (!HW[p] && OWN(W) != p + 1)) )
#define INV (INV_P(0, 1, 2) && INV_P(1, 2, 0) && INV_P(2, 0, 1) \
  && (!(W & RS) || OWN(W) != 0) && (!ownerDied || mustNotice))

active proctype monitor() {
end: atomic { !INV -> assert(INV) }
}
#endif

init {
  atomic {
    alive[0] = 1; alive[1] = 1; alive[2] = 1;
    running[0] = 1; running[1] = 1; running[2] = 1;
    ST[0] = 1; ST[1] = 1; ST[2] = 1; BM = 7;
    SLK[0] = 1; SLK[1] = 2; SLK[2] = 3;
    att[0] = 1; att[1] = 1; att[2] = 1;
    run P(0, ROLE0); run P(1, ROLE1); run P(2, ROLE2)
  }
}

#ifdef LIVE
ltl live0  { [] (waiting[0] -> <> !waiting[0]) }
ltl live1  { [] (waiting[1] -> <> !waiting[1]) }
ltl live2  { [] (waiting[2] -> <> !waiting[2]) }
ltl nobusy { [] ((inW[0] || inW[1] || inW[2]) -> <> !(inW[0] || inW[1] || inW[2])) }
#endif
