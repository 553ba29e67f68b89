import React from 'react';
import type { InputRequest, InputResponse } from '../../../runbook/events';
import type { KeyHint } from '../../components/Footer';
import type { PendingPrompt } from '../session';
import type { StepView } from '../runState';
import { checklistRows, ChecklistPrompt } from './ChecklistPrompt';
import { ConfirmPrompt, confirmRows } from './ConfirmPrompt';
import { FailurePrompt, failureKeys, failureRows } from './FailurePrompt';
import { LogsWatchPrompt } from './LogsWatchPrompt';
import { PlanPrompt, planRows } from './PlanPrompt';
import { ReviewPrompt, reviewRows } from './ReviewPrompt';
import { SelectTargetPrompt, selectRows } from './SelectTargetPrompt';
import { SkipReasonPrompt } from './SkipReasonPrompt';
import { TypedConfirmationPrompt, typedRows } from './TypedConfirmationPrompt';

/** The engine's open question, as the prompt for its kind. Keyed by question id: a new question starts fresh. */
export function PromptPanel({ prompt, step, maxRows, preselect, full, current, onAnswer }: { prompt: PendingPrompt; step?: StepView; maxRows: number; preselect?: string; full?: boolean; current?: string[]; onAnswer: (response: InputResponse) => void }) {
  const request = prompt.request;
  switch (request.kind) {
    case 'confirm':
      return <ConfirmPrompt key={prompt.id} request={request} maxRows={maxRows} onAnswer={onAnswer} />;
    case 'checklist-item':
      return <ChecklistPrompt key={prompt.id} request={request} ticks={step?.checklist ?? []} onAnswer={onAnswer} />;
    case 'typed-confirmation':
      return <TypedConfirmationPrompt key={prompt.id} request={request} maxRows={maxRows} onAnswer={onAnswer} />;
    case 'failure':
      return <FailurePrompt key={prompt.id} request={request} full={full} onAnswer={onAnswer} />;
    case 'skip-reason':
      return <SkipReasonPrompt key={prompt.id} request={request} onAnswer={onAnswer} />;
    case 'select-target':
      return <SelectTargetPrompt key={prompt.id} request={request} preselect={preselect} current={current} maxRows={maxRows} onAnswer={onAnswer} />;
    case 'logs-watch':
      return <LogsWatchPrompt key={prompt.id} request={request} onAnswer={onAnswer} />;
    case 'review':
      return <ReviewPrompt key={prompt.id} request={request} maxRows={maxRows} onAnswer={onAnswer} />;
    case 'plan':
      return <PlanPrompt key={prompt.id} request={request} maxRows={maxRows} onAnswer={onAnswer} />;
  }
}

/** Rows the prompt will take (so the screen can give the rest to steps and output). */
export function promptRows(request: InputRequest, step: StepView | undefined, maxRows: number, columns = 80, full = false): number {
  switch (request.kind) {
    case 'confirm':
      return confirmRows(request, maxRows);
    case 'checklist-item':
      return checklistRows();
    case 'typed-confirmation':
      return typedRows(request, maxRows);
    case 'failure':
      return failureRows(request, columns, full);
    case 'skip-reason':
      return 3;
    case 'select-target':
      return selectRows(request, maxRows);
    case 'logs-watch':
      return 1;
    case 'review':
      return reviewRows(request, maxRows);
    case 'plan':
      return planRows(request, maxRows);
  }
}

/** The keys that work while this question is open, for the footer and help. */
export function promptKeys(request: InputRequest): KeyHint[] {
  switch (request.kind) {
    case 'confirm':
      return request.defaultNo
        ? [
            ['y', 'yes'],
            ['enter/n', 'no'],
          ]
        : [
            ['enter/y', 'yes'],
            ['n', 'no'],
          ];
    case 'checklist-item':
      return [
        ['space/enter/y', 'tick'],
        ['n', 'not done'],
      ];
    case 'typed-confirmation':
      return [
        ['type', request.expected],
        ['enter', 'confirm'],
        ['esc', 'do not run it'],
      ];
    case 'failure':
      return failureKeys(request).map((k) => [k.key, k.label] as const);
    case 'skip-reason':
      return [
        ['type', 'the reason'],
        ['enter', 'skip'],
      ];
    case 'select-target':
      return [
        ['j/k', 'move'],
        ['enter', 'choose'],
        ['esc', 'none'],
      ];
    case 'logs-watch':
      return [['enter', 'end the watch']];
    case 'review':
      return [
        ['j/k space pgup/pgdn', 'scroll'],
        ['enter', request.acknowledge ? 'acknowledge' : 'reviewed'],
        ['esc', 'not reviewed'],
      ];
    case 'plan':
      return request.mode === 'typed'
        ? [
            ['type', request.expected],
            ['enter', 'run the plan'],
            ['esc', 'do not'],
          ]
        : [
            [request.mode === 'enter' ? 'enter/y' : 'y', 'run the plan'],
            ['n', 'do not'],
          ];
  }
}
