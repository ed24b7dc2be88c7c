"""The purchase pipeline: load (`load`), decide (`coalition.domain.checkout.decide`), write (the storage adapter).

`Purchases` serves the quote and the single purchase, `BatchRecorder` many purchases in one unit of work; both read
with `load`, call the same `decide`, and answer the typed results of `results`.
"""
