import { useState, type FormEvent } from 'react';
import type { AssistantAnswer } from '../src/requests/market-assistant.js';
import { refusalText } from './account-panel.js';
import { useRequest } from './demo-hooks.js';

/** A question to the demo's market assistant: `assistant.ask`, signed in or not. */
export function Ask({ symbol }: { symbol: string }) {
  const ask = useRequest<AssistantAnswer>('assistant.ask');
  const [question, setQuestion] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void ask.call({ question: question || `How is ${symbol} doing?` }).catch(() => undefined);
  };
  return (
    <section id="ask-panel">
      <h2>
        Ask <small>(a rule-based market assistant)</small>
      </h2>
      <form id="ask-form" onSubmit={submit}>
        <p className="fields">
          <input
            id="question"
            aria-label="question"
            placeholder={`What is the spread of ${symbol}?`}
            value={question}
            onChange={(e) => setQuestion(e.target.value)}
          />
          <button id="ask" disabled={ask.pending}>
            Ask
          </button>
        </p>
      </form>
      <p id="answer" className={ask.error ? 'down' : undefined}>
        {ask.pending ? '...' : ask.error ? refusalText(ask.error) : (ask.result?.answer ?? '')}
      </p>
    </section>
  );
}
