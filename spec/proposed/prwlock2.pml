/*
 * prwlock2.pml -- SPIN model of the CORE of protocol 2 (docs/proposals/protocol-2.md):
 * per-slot reader bias (BIASED, the readers' set AR and its summary S), revocation by the claimer
 * (V1-V4), the pending writer NEXT with WW, readers registered in their slot (WQ) while a writer
 * phase is in progress, the reader phase bounded by T_phase, deaths at every step and recovery with
 * the repair of the set. See README.md beside this file for what is and is not modelled.
 *
 * Untimed acquisitions only (no try, no timeouts, no cancellation), no upgradable holds, no
 * patience (R9), one thread per participant. Every access of the proposed code to a shared word is
 * one step; a d_step holds one such access plus local and ghost bookkeeping.
 *
 *   NP        participants (2 or 3)       ROLE0..2  0 reads, 1 writes, 2 either (per round)
 *   ITER      rounds (default 1)          MAXKILL   deaths per run (default 0)
 *   SPUR      spurious wake-ups (default 0)   PHASES    T_phase expiries per run (default 1)
 *   LIVE      endless rounds (for the LTL claims)
 *   NORESTART a dead participant stays dead (otherwise a new process may attach its slot)
 * (An earlier draft had a PHASE number in W and per-slot counts by phase parity; this model found
 * two ways in which it fails -- README.md, findings 2 and 3 -- and the design dropped it. W keeps a
 * generation count GEN, bumped whenever a writer leaves, only so that a writer's claim CAS fails if
 * a whole write phase passed since it loaded W -- finding 5.)
 * Mutants: -DMUTANT_... (listed in README.md).
 */

#define N 3
#ifndef NP
#define NP 3
#endif
#ifndef ITER
#define ITER 1
#endif
#ifndef MAXKILL
#define MAXKILL 0
#endif
#ifndef SPUR
#define SPUR 0
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
#define ROLE2 1
#endif

/* W: OWNER bits 0-1, NEXT bits 2-3, WW bit 4, GEN bits 5-6 (mod 4 here; 8 bits in the code), RS bit 7 */
#define OWN(w)   ((w) & 3)
#define NXT(w)   (((w) >> 2) & 3)
#define WWB      16
#define RS       128
#define GEN(w)   (((w) >> 5) & 3)
/* every OWNER -> 0 bumps GEN: a CAS whose expected value was loaded before a whole write phase fails */
#define GENBUMP(w) (((w) & 159) | (((GEN(w) + 1) & 3) << 5))
#define BLOCKS(w) (OWN(w) != 0 || ((w) & WWB) != 0)

#define AGAIN 0
#define CHECK 1

/* ------------------------------------------------------------------ shared memory */
byte W;
bool S;             /* summary bit of AR's (only) word                              */
byte AR;            /* the readers' set, bit s                                      */
byte R[N];          /* count(R[s])                                                  */
bool BI[N];         /* BIASED(R[s]) -- the same word as R[s] in the code             */
byte WQ[N];         /* queued readers registered in the slot                        */
bool HW[N];         /* holdsWrite                                                   */
bool ST[N];         /* state                                                        */
byte BM;            /* attached bitmap                                              */
byte SLK[N];        /* OFD lock on byte s: holder + 1                               */
bool EWS;           /* E: WRITERS_SLEEPING                                          */
bool bumped[N];     /* E moved since p's snapshot                                   */
bool ownerDied;
bool qW[N];
bool qE[N];

/* environment */
bool alive[N];
bool running[N];
byte kills;
byte spur = SPUR;
byte phases = PHASES;

/* ghosts */
bool inR[N];
bool inW[N];
bool att[N];
bool rd[N];
bool wr[N];
bool waiting[N];
bool reg[N];        /* registered (WQ += 1 and bias done)                             */
bool arr[N];        /* a reader waiting on its slow path (arrived: first found blocked) */
byte wg[N];         /* write grants since it arrived                                  */
bool exc[N];        /* excused: T_phase expiry, a death, or a write phase it did not observe while registered although runnable */
bool mk[N];         /* no registered observation of the current write phase yet     */
byte nw;            /* slot + 1 of the writer that is NEXT (WS2 .. claim)             */
byte revk;          /* slot + 1 the claimer is revoking (V1 .. end of V3)             */
bool sclr;          /* the claimer is between V4's clear of S and its re-check        */
bool mustNotice;
byte hwDeaths;

/* a write phase begins: waiting readers have not observed it yet */
#define CLAIMED claimed = 1; mk[0] = arr[0]; mk[1] = arr[1]; mk[2] = arr[2]
/* a write phase ends: a waiting reader that is runnable (not asleep in the kernel) and has not
   observed the phase while registered was not scheduled for all of it: excused */
#define PHASE_END exc[0] = exc[0] || (mk[0] && !qW[0]); exc[1] = exc[1] || (mk[1] && !qW[1]); \
                  exc[2] = exc[2] || (mk[2] && !qW[2])

/* ------------------------------------------------------------------ futexes */
inline wakeAllW() { d_step { qW[0] = 0; qW[1] = 0; qW[2] = 0 } }
inline wakeAllE() { d_step { qE[0] = 0; qE[1] = 0; qE[2] = 0 } }

inline sleepW(v) {
  d_step { if :: W == v -> qW[me] = 1 :: else -> skip fi }
  if
  :: d_step { !qW[me] -> res = AGAIN }
  :: d_step { qW[me] && spur > 0 -> spur--; qW[me] = 0; res = AGAIN }
  :: d_step { qW[me] && kills > 0 -> qW[me] = 0; res = CHECK }
  fi
}

#define EXCUSE_ALL exc[0] = exc[0] || arr[0]; exc[1] = exc[1] || arr[1]; exc[2] = exc[2] || arr[2]

inline sleepE(pa) {
  if
  :: (pa) && phaseOver -> res = AGAIN
  :: else ->
     d_step { if :: !bumped[me] -> qE[me] = 1 :: else -> skip fi }
     if
     :: d_step { !qE[me] -> res = AGAIN }
     :: d_step { qE[me] && spur > 0 -> spur--; qE[me] = 0; res = AGAIN }
     :: d_step { qE[me] && kills > 0 -> qE[me] = 0; res = CHECK }
     :: d_step { qE[me] && (pa) && !phaseOver && phases > 0 -> phases--; phaseOver = 1; qE[me] = 0;
                 res = AGAIN; EXCUSE_ALL }
     fi
  fi
}

inline wakeWriters() {
  d_step { if :: EWS -> EWS = 0; bumped[0] = 1; bumped[1] = 1; bumped[2] = 1; ew = 1 :: else -> skip fi }
  if :: ew -> ew = 0; wakeAllE() :: else -> skip fi
}
inline prepareE() { d_step { EWS = 1; bumped[me] = 0 } }

/* ------------------------------------------------------------------ the readers' set */
/* B1-B3 (each a load-then-RMW in the code; as one idempotent step here) */
inline bias() {
#ifdef MUTANT_BIAS_FLAG_FIRST
  BI[me] = 1;
#endif
  d_step { AR = AR | (1 << me) }                 /* B1 */
  S = 1;                                         /* B2 */
#ifndef MUTANT_BIAS_FLAG_FIRST
  BI[me] = 1                                     /* B3 */
#else
  skip
#endif
}

/* V1-V3: the claimer revokes slot k (count was 0, no queued readers) */
inline revoke(k) {
#ifdef MUTANT_REVOKE_CAS_FIRST
  d_step { if :: BI[k] && R[k] == 0 -> BI[k] = 0 :: else -> skip fi; revk = k + 1 }   /* V2 first */
  d_step { AR = AR & ~(1 << k) }                                                       /* then V1 */
#else
  d_step { AR = AR & ~(1 << k); revk = k + 1 }                                         /* V1 */
  d_step { if :: BI[k] && R[k] == 0 -> BI[k] = 0 :: else -> skip fi }                  /* V2 */
#endif
#ifndef MUTANT_REVOKE_NO_READD
  d_step { t = (R[k] != 0 || BI[k]) }                                                  /* V3 */
  d_step { t = t || WQ[k] != 0 }
  if
  :: t -> d_step { AR = AR | (1 << k); busy = busy || R[k] != 0; t = 0 }
  :: else -> skip
  fi;
#endif
  revk = 0
}

/* V4 for the one word: clear S if AR is 0, then re-check */
inline clearSummary() {
  d_step { t = (AR == 0) }
  if
  :: t ->
     d_step { S = 0; sclr = 1; t = 0 }
#ifndef MUTANT_SUMMARY_NO_RECHECK
     d_step { if :: AR != 0 -> S = 1 :: else -> skip fi; sclr = 0 }
#else
     sclr = 0
#endif
  :: else -> skip
  fi
}

/* ------------------------------------------------------------------ recovery */
inline repair() {
  /* C1's repair: every attached slot with a reason gets its bit; then the summary */
  d_step { if :: ((BM >> 0) & 1) && (BI[0] || R[0] != 0 || WQ[0] != 0) -> AR = AR | 1 :: else -> skip fi }
  d_step { if :: ((BM >> 1) & 1) && (BI[1] || R[1] != 0 || WQ[1] != 0) -> AR = AR | 2 :: else -> skip fi }
  d_step { if :: ((BM >> 2) & 1) && (BI[2] || R[2] != 0 || WQ[2] != 0) -> AR = AR | 4 :: else -> skip fi }
  d_step { if :: AR != 0 -> S = 1 :: else -> skip fi; revk = 0; sclr = 0 }
}

inline clear(s) {
  d_step { cw = W }
  if
  :: OWN(cw) == s + 1 ->
     if :: HW[s] -> ownerDied = 1 :: else -> skip fi;
#ifndef MUTANT_NO_REPAIR
     repair();
#else
     d_step { revk = 0; sclr = 0 }         /* ghosts only: the invariant then applies again */
#endif
     d_step { if :: OWN(W) == s + 1 -> ct = ((W & RS) != 0); W = GENBUMP(W & ~(3 | RS)); PHASE_END :: else -> skip fi; cw = 0 }
     if :: ct -> ct = 0; wakeAllW() :: else -> skip fi
  :: OWN(cw) != s + 1 && NXT(cw) == s + 1 ->
     d_step { if :: NXT(W) == s + 1 -> ct = ((W & RS) != 0); W = W & ~(12 | WWB | RS) :: else -> skip fi; cw = 0 }
     if :: ct -> ct = 0; wakeAllW() :: else -> skip fi
  :: else -> cw = 0
  fi;
  d_step { R[s] = 0; BI[s] = 0 };          /* C2: one word in the code */
  WQ[s] = 0;
  HW[s] = 0;
  BM = BM & ~(1 << s);                     /* C3 */
  ST[s] = 0;
  wakeWriters()                            /* C4 */
}

inline recoverIfDead() {
  if
  :: rs != me ->
     d_step { if :: SLK[rs] == 0 -> SLK[rs] = me + 1; lk = 1 :: else -> skip fi }
     if
     :: lk ->
        if
        :: d_step { (ST[rs] || OWN(W) == rs + 1 || NXT(W) == rs + 1 || ((BM >> rs) & 1) || R[rs] != 0
                     || BI[rs] || WQ[rs] != 0) -> assert(!att[rs]) }
           clear(rs)
        :: else -> skip
        fi;
        d_step { SLK[rs] = 0; lk = 0; rs = 0 }
     :: else -> rs = 0
     fi
  :: else -> rs = 0
  fi
}

#define O1 ((me + 1) % NP)
#define O2 ((me + 2) % NP)
/* queued(): a slot of the set with WQ != 0 */
#define QA(k) if :: qd == 0 && ((snap >> (k)) & 1) && WQ[k] != 0 -> qd = (k) + 1 :: else -> skip fi
#define RQ(k) if :: ((snap >> (k)) & 1) && WQ[k] != 0 -> rs = (k); recoverIfDead() :: else -> skip fi
#define RB(k) if :: ((snap >> (k)) & 1) && R[k] != 0 -> rs = (k); recoverIfDead() :: else -> skip fi
#if NP == 3
inline queued()   { d_step { t = S }; if :: t -> t = 0; snap = AR; QA(O1); QA(O2); snap = 0 :: else -> skip fi }
inline recoverQueued() { snap = AR; RQ(O1); RQ(O2); snap = 0 }
inline recoverBusy()   { snap = AR; RB(O1); RB(O2); snap = 0 }
#else
inline queued()   { d_step { t = S }; if :: t -> t = 0; snap = AR; QA(O1); snap = 0 :: else -> skip fi }
inline recoverQueued() { snap = AR; RQ(O1); snap = 0 }
inline recoverBusy()   { snap = AR; RB(O1); snap = 0 }
#endif

/* ------------------------------------------------------------------ read */
/* a grant: P-GRANT (in the set: count, AR bit, S -- not necessarily BIASED); P-WBOUND: while a writer
   is NEXT and no writer owns W (its reader phase), only registered readers (they arrived during the
   write phase before it) enter; P-RBOUND for a reader that waited */
#define GRANT got = 1; inR[me] = 1; waiting[me] = 0; \
  assert(R[me] > 0 && ((AR >> me) & 1) && S); \
  assert(nw == 0 || nw == me + 1 || OWN(W) != 0 || reg[me]); \
  assert(!arr[me] || wg[me] <= 1 || exc[me]); \
  arr[me] = 0; mk[me] = 0

inline backoff() {
  d_step { R[me]--; left = R[me] }
  if
  :: d_step { left == 0 && OWN(W) != 0 -> left = 0 }; wakeWriters()
  :: else -> left = 0
  fi
}

/* R7: register (after any load of W that showed a writer in the lock) */
inline register() {
#ifdef MUTANT_BIAS_OUTSIDE_PUB
  bias();
  WQ[me]++;
#else
  WQ[me]++;
  bias();
#endif
  reg[me] = 1
}

inline acquireRead() {
  d_step { pb = BI[me]; R[me]++; rd[me] = 1 }                                  /* R1 */
#ifdef MUTANT_IGNORE_BIAS
  d_step { w = W; if :: !BLOCKS(w) -> GRANT :: else -> skip fi }               /* R2, R3 without BIASED */
#else
  d_step { w = W; if :: pb && !BLOCKS(w) -> GRANT :: else -> skip fi }         /* R2, R3 */
#endif
  if
  :: got -> skip
  :: !got && !pb && !BLOCKS(w) ->
     bias();                                                                   /* R4 */
     d_step { w = W; if :: !BLOCKS(w) -> GRANT :: else -> skip fi }
  :: else -> skip
  fi;
  if
  :: got -> skip
  :: else ->
     backoff();                                                                /* R5 */
     d_step { waiting[me] = 1; arr[me] = 1; wg[me] = 0; exc[me] = 0; mk[me] = 1 };
#ifndef MUTANT_LATE_REGISTER
     if :: OWN(w) != 0 -> register() :: else -> skip fi;                       /* R2 or R4 saw a writer */
#endif
rloop: skip;
     d_step { w = W; if :: reg[me] && OWN(w) != 0 -> mk[me] = 0 :: else -> skip fi }  /* R8 */
     if
     :: OWN(w) == 0 && (reg[me] || !(w & WWB)) ->                              /* may enter */
        d_step { pb = BI[me]; R[me]++ }                                        /* R1 */
#ifndef MUTANT_SLOW_IGNORES_BIAS
        if :: !reg[me] && !pb -> bias() :: else -> skip fi;                    /* an unregistered reader is in the set only if biased */
#endif
        d_step { w = W; if :: OWN(w) == 0 && (reg[me] || !(w & WWB)) -> GRANT :: else -> skip fi }
        if
        :: got ->
           if :: reg[me] -> d_step { WQ[me]--; reg[me] = 0 }; wakeWriters() :: else -> skip fi;
           goto rdone
        :: else -> backoff();
#ifndef MUTANT_LATE_REGISTER
           if :: OWN(w) != 0 && !reg[me] -> register() :: else -> skip fi;     /* the second look saw a writer */
#endif
           goto rloop
        fi
     :: OWN(w) != 0 && !reg[me] -> register(); goto rloop                      /* R7 */
     :: else -> skip
     fi;
     /* set RS by CAS if clear (a failed CAS: look again); with RS already in w, futex_wait compares */
     d_step { if :: W == w -> W = w | RS; w = w | RS; t = 1 :: (w & RS) != 0 -> t = 1 :: else -> t = 0 fi }
     if :: !t -> goto rloop :: else -> t = 0 fi;
     sleepW(w);
     if
     :: res == AGAIN -> goto rloop
     :: res == CHECK ->
        res = 0;
        if :: OWN(w) != 0 -> rs = OWN(w) - 1 :: else -> rs = NXT(w) - 1 fi;
        recoverIfDead(); goto rloop
     fi;
rdone: skip
  fi;
  d_step { waiting[me] = 0; w = 0; pb = 0 }
}

inline releaseRead() {
  d_step { assert(R[me] > 0); left = R[me]; R[me]--; inR[me] = 0; rd[me] = 0 }   /* RR1 */
  if
  :: d_step { left == 1 && OWN(W) != 0 -> left = 0 }; wakeWriters()              /* RR2 */
  :: else -> left = 0
  fi
}

/* ------------------------------------------------------------------ write */
inline acquireWrite() {
  d_step { wr[me] = 1; waiting[me] = 1 };
  d_step { w = W }                                                      /* W1 */
#ifdef MUTANT_NEXT_OVERTAKEN
  if
  :: (w & (3 | RS)) == 0 ->
#else
  if
  :: (w & (3 | 12 | RS)) == 0 ->
#endif
     queued();                                                          /* W2 */
     if
     :: qd == 0 ->
        d_step { if :: W == w -> assert(NXT(w) == 0); W = w | (me + 1); CLAIMED :: else -> skip fi }   /* W3 */
     :: else -> qd = 0
     fi
  :: else -> skip
  fi;
  if :: claimed -> goto wdrain :: else -> skip fi;
ws2: skip;                                                              /* WS2: become NEXT */
  d_step { w = W }
  if
  :: NXT(w) == 0 && OWN(w) == 0 ->
     queued();
     if
     :: qd == 0 ->
        d_step { if :: W == w -> W = w | (me + 1); CLAIMED :: else -> skip fi };
        if :: claimed -> goto wdrain :: else -> goto ws2 fi
     :: else -> qd = 0
     fi
  :: else -> skip
  fi;
  if
  :: NXT(w) == 0 ->
#ifdef MUTANT_NO_WW
     d_step { if :: W == w -> W = w | ((me + 1) << 2); nw = me + 1; t = 1 :: else -> skip fi };
#else
     d_step { if :: W == w -> W = w | ((me + 1) << 2) | WWB; nw = me + 1; t = 1 :: else -> skip fi };
#endif
     if :: t -> t = 0; goto ws3 :: else -> goto ws2 fi
  :: else -> skip
  fi;
  prepareE();
  d_step { if :: NXT(W) == 0 -> t = 1 :: else -> skip fi }
  if :: t -> t = 0; goto ws2 :: else -> skip fi;
  sleepE(0);
  if
  :: res == CHECK -> res = 0; rs = NXT(w) - 1; recoverIfDead();
     if :: OWN(w) != 0 -> rs = OWN(w) - 1; recoverIfDead() :: else -> skip fi
  :: else -> res = 0
  fi;
  goto ws2;
ws3: skip;                                                              /* WS3: the reader phase */
  d_step { w = W }
  if
  :: OWN(w) != 0 ->
     prepareE();
     d_step { if :: OWN(W) == 0 -> t = 1 :: else -> skip fi }
     if :: t -> t = 0; goto ws3 :: else -> skip fi;
     sleepE(0);
     if :: res == CHECK -> res = 0; rs = OWN(w) - 1; recoverIfDead() :: else -> res = 0 fi;
     goto ws3
  :: else -> skip
  fi;
#ifndef MUTANT_NEXT_NO_DEFER
  queued();
#endif
  if
  :: qd != 0 && !phaseOver ->
     qd = 0;
     prepareE();
     queued();                                                          /* re-check */
     if :: qd == 0 -> goto ws3 :: else -> qd = 0 fi;
#ifdef MUTANT_PHASE_NEVER_ENDS
     sleepE(0);
#else
     sleepE(1);
#endif
     if :: res == CHECK -> res = 0; recoverQueued() :: else -> res = 0 fi;
     goto ws3
#ifndef MUTANT_PHASE_NEVER_ENDS
  :: qd != 0 && phaseOver && !phaseChk -> qd = 0; phaseChk = 1; recoverQueued(); goto ws3
#endif
  :: else -> qd = 0;
     /* claim from NEXT: OWNER = me, NEXT and WW out; RS out and W woken, so that readers blocked
        only by WW see the write phase and register */
#ifdef MUTANT_CLAIM_NO_WAKE
     d_step { if :: W == w -> W = (w & ~(12 | WWB)) | (me + 1); nw = 0; CLAIMED :: else -> skip fi };
#else
     d_step { if :: W == w -> ct = ((w & RS) != 0); W = (w & ~(12 | WWB | RS)) | (me + 1); nw = 0; CLAIMED :: else -> skip fi };
     if :: ct -> ct = 0; wakeAllW() :: else -> skip fi;
#endif
     if :: claimed -> wakeWriters(); goto wdrain :: else -> goto ws3 fi
  fi;
wdrain:                                                                 /* D1-D5 */
  busy = 0;
#ifndef MUTANT_WRITER_SKIPS_SET
  d_step { t = S }                                                      /* D1 */
  if
  :: t ->
     t = 0;
     d_step { snap = AR }                                               /* D2 */
     i = 0;
     do
     :: i < NP ->
        if
        :: i != me && ((snap >> i) & 1) ->
           if
           :: R[i] != 0 -> busy = 1
           :: else ->
              d_step { t = (WQ[i] != 0) }
              if
              :: !t -> revoke(i)                                        /* revoking (5.3): either */
              :: true -> skip
              fi;
              t = 0
           fi
        :: else -> skip
        fi;
        i++
     :: else -> break
     od;
     i = 0; snap = 0;
     clearSummary()
  :: else -> skip
  fi;
#endif
  if
  :: busy ->
     busy = 0;
     prepareE();
     d_step { snap = AR; t = ((((snap >> O1) & 1) && R[O1] != 0)
#if NP == 3
                              || (((snap >> O2) & 1) && R[O2] != 0)
#endif
                             ); snap = 0 }
     if :: !t -> goto wdrain :: else -> t = 0 fi;
     sleepE(0);
     if :: res == CHECK -> res = 0; recoverBusy() :: else -> res = 0 fi;
     goto wdrain
  :: else -> skip
  fi;
  d_step { HW[me] = 1; inW[me] = 1; waiting[me] = 0;                    /* D5 */
           wg[0] = wg[0] + (arr[0] && 0 != me); wg[1] = wg[1] + (arr[1] && 1 != me); wg[2] = wg[2] + (arr[2] && 2 != me);
           notice = ownerDied; assert(notice || !mustNotice); myd = hwDeaths }
}

inline releaseWrite() {
  d_step { assert(OWN(W) == me + 1 && HW[me]); HW[me] = 0; inW[me] = 0 }        /* WR1, WR2 */
  if
  :: ownerDied -> d_step { ownerDied = 0; if :: notice && myd == hwDeaths -> mustNotice = 0 :: else -> skip fi }
  :: else -> skip
  fi;                                                                            /* WR3 */
#ifdef MUTANT_NO_GEN
  d_step { ct = ((W & RS) != 0); W = W & ~(3 | RS); wr[me] = 0; PHASE_END }    /* WR4 without GEN */
#else
  d_step { ct = ((W & RS) != 0); W = GENBUMP(W & ~(3 | RS)); wr[me] = 0; PHASE_END }    /* WR4 */
#endif
  if :: ct -> ct = 0; wakeAllW() :: else -> skip fi;
  wakeWriters()                                                                  /* WR5 */
}

/* ------------------------------------------------------------------ attach, participants */
inline attach() {
  d_step { SLK[me] == 0 -> SLK[me] = me + 1 }
  clear(me);
  ST[me] = 1;
  d_step { BM = BM | (1 << me); att[me] = 1 }
}

proctype P(byte me; byte role; byte iters) {
  byte w, left, rs, cw, snap, qd, res, myd, it, i;
  bool got, pb, lk, ct, ew, t, busy, claimed, notice, phaseOver, phaseChk, op;
start:
  {
    if :: att[me] -> skip :: else -> attach() fi;
    do
#ifdef LIVE
    :: true ->
#else
    :: it < iters -> it++;
#endif
       if
       :: role != 1 -> op = 0
       :: role != 0 -> op = 1
       fi;
       if
       :: op == 0 -> acquireRead(); releaseRead()
       :: else -> acquireWrite(); releaseWrite()
       fi;
       d_step { got = 0; claimed = 0; notice = 0; phaseOver = 0; phaseChk = 0; op = 0; myd = 0 }
#ifndef LIVE
    :: it == iters -> break
#endif
    od;
    running[me] = 0
  } unless { !alive[me] };
  if
  :: !alive[me] ->
     d_step { w = 0; left = 0; rs = 0; cw = 0; snap = 0; qd = 0; res = 0; myd = 0; i = 0;
              got = 0; pb = 0; lk = 0; ct = 0; ew = 0; t = 0; busy = 0; claimed = 0; notice = 0;
              phaseOver = 0; phaseChk = 0; op = 0 }
#ifndef NORESTART
     if
     :: alive[me] = 1; goto start
     :: running[me] = 0
     fi
#else
     running[me] = 0
#endif
  :: else -> skip
  fi
}

#define KILLABLE(v) (alive[v] && running[v])
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
       if :: nw == v + 1 -> nw = 0 :: else -> skip fi;
       EXCUSE_ALL;
       inR[v] = 0; inW[v] = 0; att[v] = 0; waiting[v] = 0; rd[v] = 0; wr[v] = 0; reg[v] = 0; arr[v] = 0; mk[v] = 0;
       kills++; v = 0
     }
  :: break
  od
}

#ifndef LIVE
#define MUTEX(p, q, r) (!inW[p] || (!inR[p] && !inR[q] && !inW[q] && !inR[r] && !inW[r]))
#define UP(p) (alive[p] && att[p])
/* I-SET: a live participant that is biased or registered is in the set (outside the claimer's window) */
#define ISET(p) (!UP(p) || !(BI[p] || reg[p]) || revk == p + 1 || (((AR >> p) & 1) && (S || sclr)))
#define INV_P(p, q, r) ( MUTEX(p, q, r) \
  && (!inW[p] || (OWN(W) == p + 1 && HW[p])) \
  && (!inR[p] || (R[p] > 0 && (((AR >> p) & 1) || revk == p + 1) && (S || sclr))) \
  && (!UP(p) || (ST[p] && ((BM >> p) & 1) && SLK[p] == p + 1)) \
  && (!UP(p) || rd[p] || (R[p] == 0 && WQ[p] == 0)) \
  && (!UP(p) || wr[p] || (!HW[p] && OWN(W) != p + 1 && NXT(W) != p + 1)) \
  && ISET(p) )
#define INV (INV_P(0, 1, 2) && INV_P(1, 2, 0) && INV_P(2, 0, 1) \
  && (!(W & RS) || OWN(W) != 0 || (W & WWB)) && (!(W & WWB) || NXT(W) != 0) \
  && (!ownerDied || mustNotice))

active proctype monitor() {
end: atomic { !INV ->
       assert(MUTEX(0, 1, 2) && MUTEX(1, 2, 0) && MUTEX(2, 0, 1));            /* mutual exclusion */
       assert(ISET(0) && ISET(1) && ISET(2));                                /* the readers' set */
       assert((!inR[0] || R[0] > 0) && (!inR[1] || R[1] > 0) && (!inR[2] || R[2] > 0));   /* holder keeps its count */
       assert(!(W & RS) || OWN(W) != 0 || (W & WWB));                        /* RS only while readers are blocked */
       assert(INV) }
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
    run P(0, ROLE0, ITER); run P(1, ROLE1, ITER);
#if NP == 3
    run P(2, ROLE2, ITER)
#endif
  }
}

ltl live0 { [] (waiting[0] -> <> !waiting[0]) }
ltl live1 { [] (waiting[1] -> <> !waiting[1]) }
ltl livenext { [] ((nw != 0) -> <> (nw == 0)) }
