import type { InputBatch } from '../../core/link/reader.js'

// A batch on its way to a collector: its payload is encoded once and re-sent as is after a failure.
// It may carry several input batches, or a part of one: an input batch is acked upstream once every
// out batch holding a part of it is acked.
export interface InputShare {
  batch: InputBatch
  remaining: number // out batches still unacked that hold part of it
}

export interface OutBatch {
  seq: number // send order, kept when a batch is re-sent after a failure
  payload: Buffer
  count: number
  shares: InputShare[]
}
