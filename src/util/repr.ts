/**
 * Hidden-class stability for hot objects (V8). A numeric field's representation is fixed by the first value
 * stored: a small integer makes it a Smi field, and the first fraction (a cycle cost) or number beyond 31 bits
 * stored later turns it into a double field, which gives the object a new hidden class and deoptimizes every
 * function compiled for the old one. Objects made afresh for every machine (statistics records) then start
 * from the old class on each run and deoptimize the interpreter again. Fields that will hold such numbers are
 * initialised with `F64` (minus zero: not a Smi, and equal to 0 in every arithmetic and comparison the code
 * makes), so they have the double representation from the start; the constructor then stores 0 in them
 * (a double field keeps its representation), so that no -0 reaches a user.
 */
export const F64 = -0;
