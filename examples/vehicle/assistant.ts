// An in-car assistant on the default model: `npx tsx examples/vehicle/assistant.ts "Set 21 degrees for everyone"`.
// The model picks a vehicle function, the session runs it and the model answers with the result.
import { createApp } from '../../src/index.js';
import { SimulatedVehicle, vehicleTools } from './functions.js';

const request = process.argv.slice(2).join(' ') || 'It is cold in here, set the temperature to 22 degrees for everyone.';
const car = new SimulatedVehicle();
const chat = await createApp().openChat({ systemPrompt: 'You are a car assistant. Use the tools to act, then confirm in one short sentence.' });
const answer = await chat.askWithTools(request, { tools: vehicleTools(car), toolChoice: 'required', parallelToolCalls: false, sampling: { temperature: 0 }, maxTokens: 128 });
for (const { call, result } of answer.calls) console.log(`called ${call.name}(${JSON.stringify(call.arguments)}) -> ${JSON.stringify(result)}`);
console.log(answer.text);
console.log('car now:', JSON.stringify(car));
await chat.runner.close();
