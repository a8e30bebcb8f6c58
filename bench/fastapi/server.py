# The article series' server: the peer `speedup serve` is measured and compared against.
# Part 1 (sleep), part 2 (fibo, the process pool), part 3 (fibo then sleep), and the
# blocking-in-async mistake (`/stall`). Unchanged from the articles but for the stall
# endpoint and the pool's name; no bounds (speedup adds --max-fibo and 422s).
# Run: pip install "fastapi[standard]" && fastapi run bench/fastapi/server.py --host 127.0.0.1 --port 8001
# (`fastapi run` listens on 0.0.0.0 unless told; `speedup serve` on 127.0.0.1, as uvicorn does.)
from concurrent.futures import ProcessPoolExecutor
from fastapi import FastAPI
import asyncio
import time

app = FastAPI()
process_pool = ProcessPoolExecutor()


def fibo(n):
    if n < 2:
        return n
    return fibo(n - 1) + fibo(n - 2)


@app.get("/baseline/sleep/{n}")
def baseline_sleep(n: float):
    time.sleep(n)
    return f"hello world after {n}s of sleep"


@app.get("/async/sleep/{n}")
async def async_sleep(n: float):
    await asyncio.sleep(n)
    return f"hello world after {n}s of sleep"


@app.get("/stall/sleep/{n}")
async def stall_sleep(n: float):
    time.sleep(n)
    return f"hello world after {n}s of sleep"


@app.get("/baseline/fibo/{n}")
def baseline_fibo(n: int):
    return str(fibo(n))


@app.get("/async/fibo/{n}")
async def async_fibo(n: int):
    return str(fibo(n))


@app.get("/pool/fibo/{n}")
async def pool_fibo(n: int):
    loop = asyncio.get_running_loop()
    return str(await loop.run_in_executor(process_pool, fibo, n))


@app.get("/baseline/fibo_sleep/{n}")
def baseline_fibo_sleep(n: int):
    x = fibo(n) / 1_000_000
    time.sleep(x)
    return f"hello after {x}s of sleep"


@app.get("/async/fibo_sleep/{n}")
async def async_fibo_sleep(n: int):
    x = fibo(n) / 1_000_000
    await asyncio.sleep(x)
    return f"hello after {x}s of sleep"
