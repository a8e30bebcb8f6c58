# The article's server, unchanged: the peer `speedup serve` is measured against.
# Run: pip install "fastapi[standard]" && fastapi run bench/fastapi/server.py --port 8001
from fastapi import FastAPI
import asyncio
import time

app = FastAPI()


@app.get("/baseline/sleep/{n}")
def baseline_sleep(n: float):
    time.sleep(n)
    return f"hello world after {n}s of sleep"


@app.get("/async/sleep/{n}")
async def async_sleep(n: float):
    await asyncio.sleep(n)
    return f"hello world after {n}s of sleep"
