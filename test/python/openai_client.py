"""The official Python `openai` package against onboard's server: structured output with
parse() and a pydantic model, tool calls (a named tool, required, streamed) and a round
trip with the result. Prints one JSON object of what it saw; the Node test checks it.

Usage: python openai_client.py <base url>
"""
import json
import sys
from typing import Literal

from openai import OpenAI
from pydantic import BaseModel, Field


class Climate(BaseModel):
    temperature: int = Field(ge=16, le=28)
    zone: Literal["driver", "passenger", "all"]


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "navigate_to",
            "description": "Start navigation to a place",
            "parameters": {
                "type": "object",
                "properties": {"destination": {"type": "string", "maxLength": 40}},
                "required": ["destination"],
            },
        },
    }
]


def main() -> None:
    client = OpenAI(base_url=sys.argv[1], api_key="none")
    seen: dict = {}

    parsed = client.chat.completions.parse(
        model="default",
        messages=[{"role": "user", "content": "Set 21 degrees for everyone."}],
        temperature=0,
        response_format=Climate,
    )
    climate = parsed.choices[0].message.parsed
    seen["parsed"] = climate.model_dump() if climate else None

    messages = [{"role": "user", "content": "Take me to the airport."}]
    named = client.chat.completions.create(
        model="default", messages=messages, tools=TOOLS, temperature=0,
        tool_choice={"type": "function", "function": {"name": "navigate_to"}},
    )
    call = named.choices[0].message.tool_calls[0]
    seen["named"] = {"finish": named.choices[0].finish_reason, "name": call.function.name, "arguments": json.loads(call.function.arguments)}

    required = client.chat.completions.create(model="default", messages=messages, tools=TOOLS, tool_choice="required", temperature=0.7, seed=3)
    seen["required"] = [json.loads(c.function.arguments) for c in required.choices[0].message.tool_calls]

    fragments: dict = {}
    for chunk in client.chat.completions.create(model="default", messages=messages, tools=TOOLS, tool_choice="required", temperature=0, stream=True):
        for delta in chunk.choices[0].delta.tool_calls or [] if chunk.choices else []:
            entry = fragments.setdefault(delta.index, {"name": None, "arguments": "", "pieces": 0})
            if delta.function and delta.function.name:
                entry["name"] = delta.function.name
            if delta.function and delta.function.arguments:
                entry["arguments"] += delta.function.arguments
                entry["pieces"] += 1
    seen["streamed"] = [{"name": f["name"], "arguments": json.loads(f["arguments"]), "pieces": f["pieces"]} for f in fragments.values()]

    follow = client.chat.completions.create(
        model="default", temperature=0, max_tokens=32, tools=TOOLS,
        messages=[*messages, named.choices[0].message.model_dump(exclude_none=True), {"role": "tool", "tool_call_id": call.id, "content": '{"ok": true}'}],
    )
    message = follow.choices[0].message
    seen["follow"] = {"content": message.content, "calls": len(message.tool_calls or [])}

    # repeat_penalty (onboard's extension) 1: greedy's pick is then the model's likeliest token.
    scored = client.chat.completions.create(model="default", messages=messages, temperature=0, max_tokens=12, logprobs=True, top_logprobs=3, extra_body={"repeat_penalty": 1})
    entries = scored.choices[0].logprobs.content
    seen["logprobs"] = {
        "tokens": len(entries),
        "completion": scored.usage.completion_tokens,
        "best_first": all(all(a.logprob >= b.logprob for a, b in zip(e.top_logprobs, e.top_logprobs[1:])) and len(e.top_logprobs) == 3 for e in entries),
        "greedy_is_best": all(abs(e.logprob - e.top_logprobs[0].logprob) < 1e-3 for e in entries),
    }
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
