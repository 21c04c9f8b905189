/**
 * The pieces of a continued stream on their own: what the transcript reads from the bytes a
 * client got, and how the splice rewrites a fallback's chunks (id, role, repeated text).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StreamSplice } from '../src/router/stream-splice.js';
import { StreamTranscript } from '../src/router/stream-transcript.js';


function frame(...chunks: unknown[]): string {
  return chunks.map((c) => (typeof c === 'string' ? `data: ${c}\n\n` : `data: ${JSON.stringify(c)}\n\n`)).join('');
}

function chunk(delta: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: 'fb-1', object: 'chat.completion.chunk', created: 222, model: 'm2', choices: [{ index: 0, delta, finish_reason: null }], ...extra };
}

/** Parsed events of a splice's output. */
function events(text: string): Array<Record<string, unknown> | string> {
  return text.split('\n\n').filter(Boolean).map((e) => (e === 'data: [DONE]' ? '[DONE]' : (JSON.parse(e.slice(6)) as Record<string, unknown>)));
}

function contentOf(text: string): string {
  return events(text).map((e) => (typeof e === 'string' ? '' : ((e.choices as Array<{ delta: { content?: string } }>)[0]?.delta.content ?? ''))).join('');
}

describe('StreamTranscript', () => {
  test('keeps the first id and created, the role, and the text, escapes included', () => {
    const t = new StreamTranscript();
    t.observe(frame({ ...chunk({ role: 'assistant', content: '' }), id: 'first', created: 111 }));
    t.observe(frame({ ...chunk({ content: 'say "hi"\n' }), id: 'other' }, chunk({ content: 'ok' })));
    assert.equal(t.id, 'first');
    assert.equal(t.created, 111);
    assert.equal(t.roleSent, true);
    assert.equal(t.text, 'say "hi"\nok');
    assert.equal(t.continuable, true);
  });

  const stoppers: Array<[string, string]> = [
    ['a tool call', frame(chunk({ tool_calls: [{ index: 0, id: 'c1', function: { name: 'f', arguments: '' } }] }))],
    ['a second choice', frame({ id: 'x', choices: [{ index: 1, delta: { content: 'b' }, finish_reason: null }] })],
    ['a finish reason', frame({ id: 'x', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })],
    ['[DONE]', frame('[DONE]')],
  ];
  for (const [what, buf] of stoppers) {
    test(`${what} makes it not continuable`, () => {
      const t = new StreamTranscript();
      t.observe(frame(chunk({ content: 'a' })));
      t.observe(buf);
      assert.equal(t.continuable, false);
    });
  }
});

describe('StreamSplice', () => {
  const sent = { id: 'orig', created: 111, roleSent: true, text: 'Hello wor' };

  test("the fallback's chunks carry the first stream's id and created; its role chunk is dropped", () => {
    const s = new StreamSplice({ ...sent, text: '' });
    assert.equal(s.push(frame(chunk({ role: 'assistant', content: '' }))), '', 'nothing left to send');
    const out = events(s.push(frame(chunk({ content: 'x' }))));
    assert.equal(out.length, 1);
    const e = out[0] as { id: string; created: number; model: string; choices: Array<{ delta: Record<string, unknown> }> };
    assert.equal(e.id, 'orig');
    assert.equal(e.created, 111);
    assert.equal(e.model, 'm2', 'the model that answered');
    assert.deepEqual(e.choices[0]!.delta, { content: 'x' });
  });

  test('text the fallback repeats is held and cut, across chunk boundaries', () => {
    const s = new StreamSplice(sent);
    let text = '';
    for (const c of ['Hel', 'lo w', 'orld', '!']) text += s.push(frame(chunk({ content: c })));
    assert.equal(contentOf(text), 'ld!');
    assert.equal(events(text).length, 2, 'chunks left empty are not sent');
  });

  test('a fallback that departs from the text sent is passed whole', () => {
    const s = new StreamSplice(sent);
    const text = s.push(frame(chunk({ content: 'Hel' }), chunk({ content: 'p is here' })));
    assert.equal(contentOf(text), 'Help is here');
  });

  test('a fallback that continues at once is passed as it is; finish, usage and [DONE] pass', () => {
    const s = new StreamSplice(sent);
    const text = s.push(frame(
      chunk({ role: 'assistant', content: 'ld' }),
      { id: 'fb-1', created: 222, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
      { id: 'fb-1', created: 222, choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } },
      '[DONE]',
    ));
    const out = events(text);
    assert.equal(contentOf(text), 'ld');
    assert.equal(out.length, 4);
    assert.equal(out.at(-1), '[DONE]');
    assert.equal((out[2] as { id: string }).id, 'orig');
  });
});
