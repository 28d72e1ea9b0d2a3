/*
 * prwlock.pml -- Promela model of the swift-prwlock protocol as built
 * (docs/DESIGN.md; Sources/PRWLock/Protocol/LockCore*.swift, WaitClock.swift).
 * spec/README.md maps every element to the code and lists the abstractions; spec/check runs
 * every configuration, property and mutant.
 *
 * NP participants (2 or 3, one thread each); participant p owns slot p. Every access of the code
 * to a shared word is one Promela step; an `atomic` holds exactly one such access plus local and
 * ghost bookkeeping (the exceptions, all stutter-equivalent, are listed in the README). A
 * participant can die between any two steps: the killer sets alive[v] = 0 and drops every OFD
 * byte lock of v's file description, and v's body is abandoned through `unless { !alive[me] }`.
 *
 * Configuration (spin -D...):
 *   NP          participants, 2 or 3 (default 3)
 *   ROLE0..2    0 reads, 1 writes, 2 either, chosen each round (defaults 1, 2, 0);
 *               with UPG also 3 upgradable holds, 4 any of the three
 *   LIVE        endless rounds (liveness); otherwise ITER0..2 rounds (default ITER, 2)
 *   MAXKILL     deaths per run (default 1); a dead participant may restart and re-attach
 *   SPUR        spurious futex wake-ups per run (default 1)
 *   PHASES      reader phases that may run out (the 2 ms bound) per run (default 1)
 *   TMO         deadlines that may pass per run (default 1): time-outs are finitely many
 *   NO_TRY, NO_TIMED, NO_FOREVER   leave out try / timed / untimed acquisitions
 *   MUTANT_PHASE_SPIN  finding 1 as it was built: a writer's sleeps stay bounded by an expired phase
 *   UPG         upgradable holds (LockCore+Upgrade.swift): W's UPGRADER bits, acquireUpgradable,
 *               upgrade, downgrade, releaseUpgradable, their recovery. Without it the model is
 *               exactly the one without upgradable holds (the same text after the preprocessor).
 * Mutants: MUTANT_* (the #ifdef blocks below; spec/mutants/ lists them).
 */

#define N 3                         /* array size; participants use slots 0..NP-1 */
#ifndef NP
#define NP 3
#endif
#define RS 128                      /* READERS_SLEEPING (bit 31 of W)      */
#ifdef UPG
#define OWN(w) ((w) & 15)           /* OWNER = slot + 1; 0: no writer       */
#define UPB(w) (((w) >> 4) & 7)     /* UPGRADER = slot + 1 (bits 16-26 of W) */
#define UBITS(s) (((s) + 1) << 4)
#define UMASK 112
#else
#define OWN(w) ((w) & 127)          /* OWNER = slot + 1; 0: no writer       */
#endif

#ifndef ITER
#define ITER 2
#endif
#ifndef ITER0
#define ITER0 ITER
#endif
#ifndef ITER1
#define ITER1 ITER
#endif
#ifndef ITER2
#define ITER2 ITER
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
#ifndef TMO
#define TMO 1
#endif
#ifndef ROLE0
#define ROLE0 1
#endif
#ifndef ROLE1
#define ROLE1 2
#endif
#ifndef ROLE2
#define ROLE2 0
#endif

#define FOREVER 0
#define TRY     1
#define TIMED   2
#define AGAIN    0
#define CHECK    1
#define DEADLINE 2

/* ------------------------------------------------------------------ shared memory */
byte W;             /* lock word                                                  */
bool EWS;           /* E bit 0, WRITERS_SLEEPING                                   */
bool bumped[N];     /* E's sequence has moved since p's snapshot (abstracts bits 1-31) */
bool ownerDied;
byte R[N];          /* slot.readers                                               */
byte WR[N];         /* slot.waitingReaders                                        */
bool HW[N];         /* slot.holdsWrite                                            */
bool ST[N];         /* slot.state                                                 */
byte BM;            /* attached bitmap word (bit s)                               */
byte SLK[N];        /* OFD lock on byte s of the file: holder participant + 1, 0 free */

/* kernel futex queues */
bool qW[N];
bool qE[N];

/* environment */
bool alive[N];
bool running[N];
byte kills;
byte spur = SPUR;
byte phases = PHASES;
byte tmo = TMO;          /* deadlines that may pass in a run */

/* ghosts: read only by the properties */
bool inR[N];        /* holds for read                                             */
bool inW[N];        /* holds for write: holdsWrite = 1 until WR2                  */
bool att[N];        /* attach finished: the participant is up                     */
bool rd[N];         /* inside a read acquire, hold or release                     */
bool wr[N];         /* inside a write acquire, hold or release                    */
bool waiting[N];    /* inside a blocking (non-try) acquire                        */
bool mustNotice;    /* a writer died with holdsWrite = 1 and no writer that was told has
                       finished its release since                                  */
byte hwDeaths;      /* deaths with holdsWrite = 1 so far                          */
#ifdef UPG
bool inU[N];        /* holds upgradable: from the CAS that sets UPGRADER until the CAS that clears
                       it (releaseUpgradable, or the write release of an upgraded hold)     */
bool up[N];         /* in an upgradable round (acquire, hold, upgrade, downgrade, release)  */
#endif

/* ------------------------------------------------------------------ futexes */
inline wakeAllW() { d_step { qW[0] = 0; qW[1] = 0; qW[2] = 0 } }

inline wakeAllE() {
#ifdef MUTANT_WAKE_ONE
  if                                         /* futex_wake(E, 1) */
  :: d_step { qE[0] -> qE[0] = 0 }
  :: d_step { qE[1] -> qE[1] = 0 }
  :: d_step { qE[2] -> qE[2] = 0 }
  :: d_step { !qE[0] && !qE[1] && !qE[2] -> skip }
  fi
#else
  d_step { qE[0] = 0; qE[1] = 0; qE[2] = 0 }
#endif
}

/* WaitClock.sleep + futex_wait(W, v). A timed waiter may find its deadline passed on entry.
   Compare-and-block is one step. A blocked waiter leaves when woken, spuriously (SPUR budget),
   at a 5 ms liveness slice -- enabled only once somebody has died, so that among live
   participants every wake-up must come from a futex_wake (a lost wake-up is then an invalid end
   state or a liveness violation) -- or at its deadline. */
inline sleepW(v) {
  if
  :: d_step { mode == TIMED && tmo > 0 -> tmo--; res = DEADLINE }
  :: true ->
     d_step { if :: W == v -> qW[me] = 1 :: else -> skip fi }
     if
     :: d_step { !qW[me] -> res = AGAIN }
     :: d_step { qW[me] && spur > 0 -> spur--; qW[me] = 0; res = AGAIN }
     :: d_step { qW[me] && kills > 0 -> qW[me] = 0; res = CHECK }
     :: d_step { qW[me] && mode == TIMED && tmo > 0 -> tmo--; qW[me] = 0; res = DEADLINE }
     fi
  fi
}

/* futex_wait(E, snapshot). pa: the wait passes wakeBy: phaseEnd; once the phase is over that
   bound is in the past and futex_wait returns ETIMEDOUT at once. */
inline sleepE(pa) {
  if
  :: d_step { mode == TIMED && tmo > 0 -> tmo--; res = DEADLINE }
  :: (pa) && phaseOver -> res = AGAIN
  :: else ->
     d_step { if :: !bumped[me] -> qE[me] = 1 :: else -> skip fi }
     if
     :: d_step { !qE[me] -> res = AGAIN }
     :: d_step { qE[me] && spur > 0 -> spur--; qE[me] = 0; res = AGAIN }
     :: d_step { qE[me] && kills > 0 -> qE[me] = 0; res = CHECK }
     :: d_step { qE[me] && mode == TIMED && tmo > 0 -> tmo--; qE[me] = 0; res = DEADLINE }
     :: d_step { qE[me] && (pa) && !phaseOver && phases > 0 -> phases--; phaseOver = 1; qE[me] = 0; res = AGAIN }
     fi
  fi
}

/* wakeWriters(): load E; if WRITERS_SLEEPING: CAS E to (e + 2) & ~1 (retried while the bit is
   set), then futex_wake(E, all). Load and successful CAS are one step (a failed CAS changes
   nothing); a load that sees the bit clear is the same step finding nothing to do. */
inline wakeWriters() {
  d_step { if :: EWS -> EWS = 0; bumped[0] = 1; bumped[1] = 1; bumped[2] = 1; ew = 1 :: else -> skip fi }
  if :: ew -> ew = 0; wakeAllE() :: else -> skip fi
}

/* prepareToWaitOnEvent(): CAS the bit in; the value it returns is the snapshot. */
inline prepareE() { d_step { EWS = 1; bumped[me] = 0 } }

/* ------------------------------------------------------------------ recovery */
/* clear(s): "Death and recovery" steps 1-4 (attach clears its own slot the same way). */
#ifdef UPG
/* LockCore.clear with upgradable holds: word = load W; if OWNER is s+1: ownerDied, then CAS W to 0
   (on success `word` keeps the old value, whose OWNER is s+1, so the next loop does nothing);
   then, while UPGRADER(word) == s+1 and OWNER(word) == 0: CAS UPGRADER out of W, from `word` (the
   first load, or the value a failed CAS reloaded). */
inline clear(s) {
  d_step { cw = W }
  if
  :: OWN(cw) == s + 1 ->
#if defined(MUTANT_OD_ALWAYS)
     ownerDied = 1;
#elif defined(MUTANT_OD_NEVER)
     skip;
#else
     if :: HW[s] -> ownerDied = 1 :: else -> skip fi;
#endif
     d_step { if :: OWN(W) == s + 1 -> ct = ((W & RS) != 0); W = 0; cw = 0 :: else -> cw = W fi }
     if :: ct -> ct = 0; wakeAllW() :: else -> skip fi
  :: else -> skip
  fi;
#ifndef MUTANT_CLEAR_KEEPS_UPG
  do
  :: OWN(cw) == 0 && UPB(cw) == s + 1 ->
     d_step { if :: W == cw -> W = cw & ~UMASK; cw = 0 :: else -> cw = W fi }
  :: else -> break
  od;
#endif
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
#else
inline clear(s) {
  d_step { cw = W; if :: OWN(cw) != s + 1 -> cw = 0 :: else -> skip fi }
  if
  :: cw != 0 ->
#if defined(MUTANT_OD_ALWAYS)
     ownerDied = 1;
#elif defined(MUTANT_OD_NEVER)
     skip;
#else
     if :: HW[s] -> ownerDied = 1 :: else -> skip fi;
#endif
     d_step { if :: OWN(W) == s + 1 -> ct = ((W & RS) != 0); W = 0 :: else -> skip fi; cw = 0 }
     if :: ct -> ct = 0; wakeAllW() :: else -> skip fi
  :: else -> skip
  fi;
#ifndef MUTANT_CLEAR_KEEPS_R
  R[s] = 0;
#endif
  WR[s] = 0;
  HW[s] = 0;
  BM = BM & ~(1 << s);
  ST[s] = 0;
  wakeWriters()
}
#endif

#ifdef UPG
#define UPG_STATE(s) || UPB(W) == (s) + 1
#else
#define UPG_STATE(s)
#endif

/* recoverIfDead(rs): never our own slot; F_OFD_SETLK on byte rs; when won and the slot has
   state, clear it; unlock. slotHasState is one step: under the slot lock of a dead owner nobody
   else writes those fields. */
inline recoverIfDead() {
  if
  :: rs != me ->
     d_step { if :: SLK[rs] == 0 -> SLK[rs] = me + 1; lk = 1 :: else -> skip fi }
     if
     :: lk ->
        if
        :: d_step { (ST[rs] || OWN(W) == rs + 1 UPG_STATE(rs) || ((BM >> rs) & 1) || R[rs] != 0 || WR[rs] != 0) ->
                    assert(!att[rs]) }        /* the slot lock is never won over a live participant */
           clear(rs); rec = 1
        :: else -> skip
        fi;
        d_step { SLK[rs] = 0; lk = 0; rs = 0 }
     :: else -> rs = 0
     fi
  :: else -> rs = 0
  fi
}

/* firstAttachedSlot / attachedSlots: one load of the bitmap word, then one load per slot. The
   own slot is skipped: a one-thread participant never waits to read or reads while it writes. */
#define O1 ((me + 1) % NP)
#define O2 ((me + 2) % NP)
#define QCHK(k) if :: qd == 0 && ((snap >> (k)) & 1) && WR[k] != 0 -> qd = (k) + 1; snap = 0 :: else -> skip fi
#define BCHK(k) if :: bz == 0 && ((snap >> (k)) & 1) && R[k] != 0 -> bz = (k) + 1; snap = 0 :: else -> skip fi
#define RQ(k) if :: ((rsnap >> (k)) & 1) && WR[k] != 0 -> rs = (k); recoverIfDead() :: else -> skip fi
#define RR(k) if :: ((rsnap >> (k)) & 1) && R[k] != 0 -> rs = (k); recoverIfDead() :: else -> skip fi
#if NP == 3
inline queuedReaderSlot() { snap = BM; QCHK(O1); QCHK(O2); snap = 0 }
inline busyReaderSlot()   { snap = BM; BCHK(O1); BCHK(O2); snap = 0 }
#define RQALL RQ(O1); RQ(O2)
#define RRALL RR(O1); RR(O2)
#else
inline queuedReaderSlot() { snap = BM; QCHK(O1); snap = 0 }
inline busyReaderSlot()   { snap = BM; BCHK(O1); snap = 0 }
#define RQALL RQ(O1)
#define RRALL RR(O1)
#endif

inline recoverDeadBlockers(ow, q) {
  if :: ow != 0 -> rs = ow - 1; recoverIfDead() :: else -> skip fi;
  if :: q != 0 -> rsnap = BM; RQALL; rsnap = 0 :: else -> skip fi
}
inline recoverDeadReaders() { rsnap = BM; RRALL; rsnap = 0 }

/* ------------------------------------------------------------------ read */
/* tryEnterRead: R1-R4 */
inline tryEnterRead() {
#ifdef MUTANT_DEKKER
  w = W;                                          /* looks at W before publishing */
  d_step { R[me]++; rd[me] = 1 }
  if
  :: d_step { OWN(w) == 0 -> got = 1; inR[me] = 1; waiting[me] = 0; w = 0 }
#else
  d_step { R[me]++; rd[me] = 1 }                  /* R1 */
  if
  :: d_step { OWN(W) == 0 -> got = 1; inR[me] = 1; waiting[me] = 0 }   /* R2, R3 */
#endif
  :: else ->
     d_step { w = 0; R[me]--; left = R[me] }     /* R4 */
     if
     :: d_step { left == 0 && OWN(W) != 0 -> left = 0 }; wakeWriters()
     :: else -> left = 0
     fi
  fi
}

inline acquireRead() {
  tryEnterRead();                                 /* acquireRead's fast path */
  if
  :: got -> skip
  :: else ->
     tryEnterRead();                              /* acquireReadSlow's first attempt */
     if
     :: got -> skip
     :: else ->
        if
        :: mode == TRY ->
           d_step { w = OWN(W) }                  /* one liveness check of the writer in the way */
           if
           :: w != 0 -> rs = w - 1; w = 0; recoverIfDead();
              if :: rec -> rec = 0; tryEnterRead() :: else -> skip fi
           :: else -> skip
           fi
        :: else ->
           d_step { WR[me]++; waiting[me] = 1 }  /* R6 */
rloop: skip;
           /* load W; if owned and RS clear, CAS RS in (load + successful CAS as one step;
              a failed CAS only reloads) */
           d_step { w = W; if :: OWN(w) != 0 && (w & RS) == 0 ->
#ifndef MUTANT_NO_RS_SET
                                 W = w | RS; w = w | RS
#else
                                 skip
#endif
                             :: else -> skip fi }
           if
           :: OWN(w) == 0 ->
              w = 0;
              tryEnterRead();
              if :: got -> goto rdone :: else -> goto rloop fi
           :: else -> skip
           fi;
           sleepW(w);
           if
           :: res == AGAIN -> res = 0; w = 0; goto rloop
           :: res == CHECK -> res = 0; rs = OWN(w) - 1; w = 0; recoverIfDead(); rec = 0; goto rloop
           :: res == DEADLINE -> res = 0; rs = OWN(w) - 1; w = 0; recoverIfDead();
              if :: rec -> rec = 0; goto rloop :: else -> skip fi
           fi;
rdone:     skip;
           d_step { WR[me]--; waiting[me] = 0; if :: !got -> rd[me] = 0 :: else -> skip fi }
           wakeWriters()                          /* the defer: a writer may defer to us */
        fi
     fi
  fi;
  if :: !got -> d_step { rd[me] = 0; waiting[me] = 0 } :: else -> skip fi
}

/* RR1-RR2 */
inline releaseRead() {
  d_step { assert(R[me] > 0); left = R[me]; R[me]--; inR[me] = 0; rd[me] = 0 }
  if
  :: d_step { left == 1 && OWN(W) != 0 -> left = 0 }; wakeWriters()
  :: else -> left = 0
  fi
}

/* ------------------------------------------------------------------ write */
inline hold() {
  d_step { HW[me] = 1; inW[me] = 1; waiting[me] = 0 }           /* W4 */
  d_step { notice = ownerDied;                                   /* previousWriterDied */
           assert(notice || !mustNotice);    /* a writer that died holding is always reported */
           myd = hwDeaths }
  granted = 1
}

/* abandonClaim: while W's owner is me, CAS W to 0 (one step: a failed CAS only reloads);
   wake W if RS was set; wakeWriters(). */
#ifdef UPG
/* abandonClaim(me, keepingUpgrader: upgrading): an upgrade that gives up keeps UPGRADER (CAS to
   word & upgraderMask); otherwise W becomes 0, which also ends the upgradable hold of an
   upgraded writer. */
#ifdef MUTANT_UPG_ABANDON_CLEARS
#define KEEP_UPG 0
#else
#define KEEP_UPG upgrading
#endif
#endif
inline abandonClaim() {
#ifdef UPG
  d_step { if :: OWN(W) == me + 1 -> ct = ((W & RS) != 0);
                 if :: KEEP_UPG -> W = W & UMASK :: else -> W = 0 fi;
                 if :: !upgrading -> inU[me] = 0 :: else -> skip fi
              :: else -> skip fi; wr[me] = 0 }
#else
  d_step { if :: OWN(W) == me + 1 -> ct = ((W & RS) != 0); W = 0 :: else -> skip fi; wr[me] = 0 }
#endif
#ifndef MUTANT_NO_RS_WAKE
  if :: ct -> ct = 0; wakeAllW() :: else -> skip fi;
#else
  ct = 0;
#endif
  wakeWriters()
}

/* blockers() of acquireWriteSlow: (owner, queued), with the reader phase. */
inline blockers() {
#ifdef UPG
  /* the owner here is whoever keeps W from being 0: a writer, or else the upgradable holder */
  d_step { w = W; owner = OWN(w); assert(owner != 0 || (w & RS) == 0);
#ifndef MUTANT_WRITER_IGNORES_UPG
           if :: owner == 0 -> owner = UPB(w) :: else -> skip fi;
#endif
           w = 0; qd = 0 }
#else
  d_step { w = W; owner = OWN(w); assert(owner != 0 || w == 0); w = 0; qd = 0 }
#endif
  if
  :: owner == 0 && mode != TRY ->
     queuedReaderSlot();
     if
     :: qd != 0 ->
        if
        :: !deferring -> deferring = 1                 /* deferringSince = now */
        :: deferring -> skip                           /* the phase goes on */
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

#ifdef MUTANT_PHASE_SPIN
#define PHASE_ARG deferring        /* the bug SPIN found: whenever deferringSince != nil */
#else
#define PHASE_ARG (qd != 0)        /* wakeBy: phaseEnd only while deferring to queued readers */
#endif

inline acquireWrite() {
#ifdef UPG
  if :: upgrading -> goto wdrain :: else -> skip fi;      /* upgrade(): the drain W3 only */
#endif
  /* tryEnterWrite: W1-W4 */
  wr[me] = 1;
  queuedReaderSlot();                                          /* W1 */
  if
  :: qd != 0 -> qd = 0
  :: else ->
#if defined(UPG) && defined(MUTANT_WRITER_IGNORES_UPG)
     d_step { if :: OWN(W) == 0 -> W = W | (me + 1); claimed = 1 :: else -> skip fi }   /* W2 */
#else
     d_step { if :: W == 0 -> W = me + 1; claimed = 1 :: else -> skip fi }   /* W2 */
#endif
     if
     :: claimed ->
        busyReaderSlot();                                      /* W3 */
        if :: bz == 0 -> hold() :: else -> bz = 0 fi
     :: else -> skip
     fi
  fi;
  if :: granted -> goto wend :: else -> skip fi;
  if :: mode != TRY -> waiting[me] = 1 :: else -> skip fi;
  if :: claimed -> goto wdrain :: else -> skip fi;
wloop: skip;                                                        /* claim loop */
  blockers();
  if
  :: owner == 0 && qd == 0 ->
#if defined(UPG) && defined(MUTANT_WRITER_IGNORES_UPG)
     d_step { if :: OWN(W) == 0 -> W = W | (me + 1); claimed = 1 :: else -> skip fi }
#else
     d_step { if :: W == 0 -> W = me + 1; claimed = 1 :: else -> skip fi }
#endif
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
  blockers();                                                  /* re-check after announcing */
  if :: owner == 0 && qd == 0 -> goto wloop :: else -> skip fi;
#endif
  sleepE(PHASE_ARG);
  if
  :: res == AGAIN -> res = 0; owner = 0; qd = 0; goto wloop
  :: res == CHECK -> res = 0; recoverDeadBlockers(owner, qd); rec = 0; owner = 0; qd = 0; goto wloop
  :: res == DEADLINE -> res = 0; recoverDeadBlockers(owner, qd); owner = 0; qd = 0;
     if :: rec -> rec = 0; goto wloop :: else -> goto wfail fi
  fi;
wdrain:                                                        /* drain */
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
     abandonClaim()                                            /* timed out while claimed */
  fi;
wfail: skip;
  d_step { wr[me] = 0; waiting[me] = 0 };
wend:
  skip
}

inline clearNotice() {                                         /* WR3 */
  if
  :: ownerDied -> d_step { ownerDied = 0; if :: notice && myd == hwDeaths -> mustNotice = 0 :: else -> skip fi }
  :: else -> skip
  fi
}

/* WR1-WR5 (WR1's relaxed load of W is folded into WR2: nobody else changes W's owner while
   we hold) */
inline releaseWrite() {
  d_step { assert(OWN(W) == me + 1 && HW[me]); HW[me] = 0; inW[me] = 0 }   /* WR1, WR2 */
#ifndef MUTANT_WR3_LATE
  clearNotice();
#endif
  abandonClaim();                                                           /* WR4, WR5 */
#ifdef MUTANT_WR3_LATE
  clearNotice()
#endif
}

#ifdef UPG
/* ------------------------------------------------------------------ upgradable holds */
/* U1 acquireUpgradable: word = load W; no owner and no upgrader: CAS UPGRADER = me+1 in (load and
   successful CAS as one step; a failed CAS only reloads); else the holder (owner, else upgrader)
   is waited for on E like a writer waits: prepareToWaitOnEvent, re-check, sleep; the liveness
   check and the deadline check that holder. A try checks it once. Readers are not deferred to. */
inline acquireUpgradable() {
  d_step { up[me] = 1; if :: mode != TRY -> waiting[me] = 1 :: else -> skip fi }
uloop: skip;
  d_step { w = W; assert(OWN(w) != 0 || (w & RS) == 0);
           if
           :: OWN(w) == 0 && UPB(w) == 0 -> W = w | UBITS(me); inU[me] = 1; got = 1; waiting[me] = 0
           :: OWN(w) != 0 -> owner = OWN(w)
           :: OWN(w) == 0 && UPB(w) != 0 -> owner = UPB(w)
           fi;
           w = 0 }
  if :: got -> goto udone :: else -> skip fi;
  if
  :: mode == TRY ->
     if
     :: !checked -> rs = owner - 1; recoverIfDead();
        if :: rec -> rec = 0; checked = 1; owner = 0; goto uloop :: else -> skip fi
     :: else -> skip
     fi;
     goto ufail
  :: else -> skip
  fi;
  prepareE();
  d_step { w = W; assert(OWN(w) != 0 || (w & RS) == 0);      /* re-check after announcing */
           if :: OWN(w) == 0 && UPB(w) == 0 -> bz = 1 :: else -> skip fi; w = 0 }
  if :: bz -> bz = 0; owner = 0; goto uloop :: else -> skip fi;
  sleepE(0);
  if
  :: res == AGAIN -> res = 0; owner = 0; goto uloop
  :: res == CHECK -> res = 0; rs = owner - 1; owner = 0; recoverIfDead(); rec = 0; goto uloop
  :: res == DEADLINE -> res = 0; rs = owner - 1; owner = 0; recoverIfDead();
     if :: rec -> rec = 0; goto uloop :: else -> skip fi
  fi;
ufail: skip;
  d_step { owner = 0; checked = 0; waiting[me] = 0 };
udone:
  skip
}

/* U2 upgrade: guard (UPGRADER == me+1, OWNER == 0) and CAS OWNER = me+1 in, keeping UPGRADER (one
   step: nobody else changes W while it is UPGRADER = me+1 alone -- readers CAS only an owned W,
   writers and upgraders only W == 0); then the writer's drain with keepingUpgrader: acquireWrite
   entered at wdrain. Untimed or timed (no try); giving up clears OWNER only. */
inline upgrade() {
  if
  :: mode = FOREVER
#ifndef NO_TIMED
  :: mode = TIMED
#endif
  fi;
  d_step { assert(UPB(W) == me + 1 && OWN(W) == 0 && inU[me]); W = W | (me + 1);
           wr[me] = 1; upgrading = 1; claimed = 1; waiting[me] = 1 }
  acquireWrite();
  upgrading = 0
}

/* U3 downgrade: the guard's loads (OWNER == me+1, holdsWrite == 1; nobody else changes them while
   we hold) are folded into the publication R[me] += 1; then the write release WR2-WR5. The read
   hold begins at WR2, where the write hold ends. */
inline downgrade() {
#ifdef MUTANT_DOWNGRADE_LATE
  d_step { assert(OWN(W) == me + 1 && HW[me]); HW[me] = 0; inW[me] = 0 }   /* releases first */
  clearNotice();
  abandonClaim();
  d_step { R[me]++; rd[me] = 1; inR[me] = 1 }                              /* then publishes */
#else
  d_step { assert(OWN(W) == me + 1 && HW[me]); R[me]++; rd[me] = 1 }      /* publish the read */
  d_step { HW[me] = 0; inW[me] = 0; inR[me] = 1 }                          /* WR2 */
  clearNotice();                                                           /* WR3 */
  abandonClaim()                                                           /* WR4, WR5 */
#endif
}

/* U4 releaseUpgradable: CAS UPGRADER from me+1 to 0 while OWNER == 0 (load + CAS one step, W is
   stable as in upgrade), then wakeWriters(). */
inline releaseUpgradable() {
  d_step { assert(UPB(W) == me + 1 && OWN(W) == 0 && inU[me]); W = W & ~UMASK; inU[me] = 0 }
  wakeWriters()
}
#endif

/* ------------------------------------------------------------------ attach */
inline attach() {
  d_step { SLK[me] == 0 -> SLK[me] = me + 1 }      /* the slot lock becomes our token */
  clear(me);
  ST[me] = 1;
  d_step { BM = BM | (1 << me); att[me] = 1 }
}

/* ------------------------------------------------------------------ participants */
proctype P(byte me; byte role; byte iters) {
  byte w, left, rs, cw, snap, rsnap, qd, bz, owner, res, mode, myd, it;
#ifdef UPG
  byte op;                 /* 0 read, 1 write, 2 upgradable */
  bool got, lk, rec, ct, ew, claimed, granted, notice, deferring, phaseOver, phaseChk, checked, upgrading;
#else
  bool got, lk, rec, ct, ew, claimed, granted, notice, deferring, phaseOver, phaseChk, checked, op;
#endif

start:
  {
    if :: att[me] -> skip :: else -> attach() fi;
    do
#ifdef LIVE
    :: true ->
#else
    :: it < iters -> it++;
#endif
#ifdef UPG
       if
       :: role == 0 || role == 2 || role == 4 -> op = 0
       :: role == 1 || role == 2 || role == 4 -> op = 1
       :: role >= 3 -> op = 2
       fi;
#else
       if
       :: role != 1 -> op = 0
       :: role != 0 -> op = 1
       fi;
#endif
       if
#ifndef NO_FOREVER
       :: mode = FOREVER
#endif
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
#ifdef UPG
       :: op == 1 ->
          acquireWrite();
          if
          :: granted ->
             if
             :: releaseWrite()
             :: downgrade(); releaseRead()          /* a plain write hold may downgrade too */
             fi
          :: else -> skip
          fi
#else
       :: else ->
          acquireWrite();
          if :: granted -> releaseWrite() :: else -> skip fi
#endif
#ifdef UPG
       :: op == 2 ->
          acquireUpgradable();
          if
          :: got ->
             if
             :: releaseUpgradable()
             :: upgrade();
                if
                :: granted ->
                   if
                   :: releaseWrite()                   /* ends the upgradable hold too (W = 0) */
                   :: downgrade(); releaseRead()
                   fi
                :: else -> releaseUpgradable()        /* gave up: the upgradable hold is kept */
                fi
             fi
          :: else -> skip
          fi
#endif
       fi;
#ifdef UPG
       d_step { got = 0; granted = 0; claimed = 0; notice = 0; deferring = 0; phaseOver = 0;
                phaseChk = 0; checked = 0; mode = 0; op = 0; myd = 0; up[me] = 0 }
#else
       d_step { got = 0; granted = 0; claimed = 0; notice = 0; deferring = 0; phaseOver = 0;
                phaseChk = 0; checked = 0; mode = 0; op = 0; myd = 0 }
#endif
#ifndef LIVE
    :: it == iters -> break
#endif
    od;
    running[me] = 0
  } unless { !alive[me] };
  if
  :: !alive[me] ->
     d_step { w = 0; left = 0; rs = 0; cw = 0; snap = 0; rsnap = 0; qd = 0; bz = 0; owner = 0;
              res = 0; mode = 0; op = 0; myd = 0; got = 0; lk = 0; rec = 0; ct = 0; ew = 0;
              claimed = 0; granted = 0; notice = 0; deferring = 0; phaseOver = 0; phaseChk = 0;
#ifdef UPG
              upgrading = 0;
#endif
              checked = 0 }
     if
     :: alive[me] = 1; goto start                   /* a new process opens the lock again */
     :: running[me] = 0                             /* stays dead */
     fi
  :: else -> skip
  fi
}

/* A participant dies: the kernel drops the OFD locks of its description (its token, and a slot
   lock it held for recovery) and takes it off the futex queues. Shared memory stays. */
#define KILLABLE(p) (alive[p] && running[p])
active proctype killer() {
  byte v;
  do
  :: atomic {
       kills < MAXKILL && (KILLABLE(0) || KILLABLE(1) || KILLABLE(2)) ->
       if
       :: KILLABLE(0) -> v = 0
       :: KILLABLE(1) -> v = 1
       :: KILLABLE(2) -> v = 2
       fi;
       alive[v] = 0;
       if :: SLK[0] == v + 1 -> SLK[0] = 0 :: else -> skip fi;
       if :: SLK[1] == v + 1 -> SLK[1] = 0 :: else -> skip fi;
       if :: SLK[2] == v + 1 -> SLK[2] = 0 :: else -> skip fi;
       qW[v] = 0; qE[v] = 0;
       if :: HW[v] -> mustNotice = 1; hwDeaths++ :: else -> skip fi;
       inR[v] = 0; inW[v] = 0; att[v] = 0; waiting[v] = 0; rd[v] = 0; wr[v] = 0;
#ifdef UPG
       inU[v] = 0; up[v] = 0;
#endif
       kills++; v = 0
     }
  :: break
  od
}

#ifndef LIVE
/* Safety invariants, checked in every reachable state by a monitor. */
#define MUTEX(p, q, r) (!inW[p] || (!inR[p] && !inR[q] && !inW[q] && !inR[r] && !inW[r]))
#define UP(p) (alive[p] && att[p])
#ifdef UPG
/* an upgradable holder beside readers is fine; beside another upgradable holder or a writer not
   (after its upgrade it is a writer: MUTEX) */
#define UMUTEX(p, q, r) (!inU[p] || (!inU[q] && !inW[q] && !inU[r] && !inW[r]))
#define UHOLD(p) (!inU[p] || UPB(W) == p + 1)                 /* a live upgradable holder keeps it */
#define UINV_P(p, q, r) && UMUTEX(p, q, r) && UHOLD(p) && (!UP(p) || up[p] || UPB(W) != p + 1)
#else
#define UINV_P(p, q, r)
#endif
#define INV_P(p, q, r) ( MUTEX(p, q, r) \
  && (!inW[p] || (OWN(W) == p + 1 && HW[p])) \
  && (!inR[p] || R[p] > 0) \
  && (!UP(p) || (ST[p] && ((BM >> p) & 1) && SLK[p] == p + 1)) \
  && (!UP(p) || rd[p] || (R[p] == 0 && WR[p] == 0)) \
  && (!UP(p) || wr[p] || (!HW[p] && OWN(W) != p + 1)) UINV_P(p, q, r) )
#define INV (INV_P(0, 1, 2) && INV_P(1, 2, 0) && INV_P(2, 0, 1) \
  && (!(W & RS) || OWN(W) != 0) && (!ownerDied || mustNotice))

/* On a violation the first failing assertion names the invariant. */
active proctype monitor() {
end: atomic { !INV ->
       assert(MUTEX(0, 1, 2) && MUTEX(1, 2, 0) && MUTEX(2, 0, 1));            /* mutual exclusion */
#ifdef UPG
       assert(UMUTEX(0, 1, 2) && UMUTEX(1, 2, 0) && UMUTEX(2, 0, 1));         /* upgradable: no upgrader or writer beside it */
       assert(UHOLD(0) && UHOLD(1) && UHOLD(2));                              /* upgradable holder keeps its hold */
#endif
       assert((!inW[0] || (OWN(W) == 1 && HW[0])) && (!inW[1] || (OWN(W) == 2 && HW[1]))
              && (!inW[2] || (OWN(W) == 3 && HW[2]))
              && (!inR[0] || R[0] > 0) && (!inR[1] || R[1] > 0) && (!inR[2] || R[2] > 0)); /* holder keeps its lock */
       assert(!ownerDied || mustNotice);                                     /* notice only after a death holding */
       assert(!(W & RS) || OWN(W) != 0);                                     /* RS only on an owned W */
       assert(INV) }                                                         /* slot of a live participant intact, no phantom holds */
}
#endif

init {
  atomic {
    alive[0] = 1; alive[1] = 1; running[0] = 1; running[1] = 1;
    ST[0] = 1; ST[1] = 1; SLK[0] = 1; SLK[1] = 2; att[0] = 1; att[1] = 1;
#if NP == 3
    alive[2] = 1; running[2] = 1; ST[2] = 1; SLK[2] = 3; att[2] = 1; BM = 7;
#else
    BM = 3;
#endif
    run P(0, ROLE0, ITER0); run P(1, ROLE1, ITER1);
#if NP == 3
    run P(2, ROLE2, ITER2)
#endif
  }
}

/* every live waiter eventually gets the lock or gives up (timeout / death) */
ltl live0  { [] (waiting[0] -> <> !waiting[0]) }
ltl live1  { [] (waiting[1] -> <> !waiting[1]) }
ltl live2  { [] (waiting[2] -> <> !waiting[2]) }
/* while a writer holds, every other participant's wait blocks: nobody runs forever meanwhile
   (checked without fairness, without deaths, timeouts or tries) */
ltl nobusy { [] ((inW[0] || inW[1] || inW[2]) -> <> !(inW[0] || inW[1] || inW[2])) }
#ifdef UPG
/* both participants' waits end (a dead upgradable holder, or a dead writer, is recovered) */
ltl live01 { [] (waiting[0] -> <> !waiting[0]) && [] (waiting[1] -> <> !waiting[1]) }
#endif
