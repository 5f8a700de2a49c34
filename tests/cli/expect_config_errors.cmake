# Invalid configurations and bad flag values fail before any work with exit 2 (a bad command line),
# naming the key or flag; a file that cannot be read is a runtime error (exit 1).
file(WRITE ${WORK}/bad-key.json "{\"dataset\": \"x.h5\", \"learning_rate\": 0.1}")
file(WRITE ${WORK}/bad-type.json "{\"dataset\": \"x.h5\", \"epochs\": \"many\"}")
file(WRITE ${WORK}/bad-minutes.json "{\"dataset\": \"x.h5\", \"checkpoint_minutes\": -1}")
# An integer beyond any integer type: refused, not cast (a cast out of range is undefined behaviour).
file(WRITE ${WORK}/huge-int.json "{\"dataset\": \"x.h5\", \"batch_size\": 11111111111111111111111111111111}")
set(cases
  "train,--dataset,x.h5,--batch-size,1|'batch_size'|2"
  "train,--dataset,x.h5,--batch-size,0|'batch_size'|2"
  "train,--dataset,x.h5,--lr,-1|'lr' must be > 0|2"
  "train,--dataset,x.h5,--backbone,resnet18|'backbone'|2"
  "train,--dataset,x.h5,--precision,fp8|'precision'|2"
  "train,--dataset,x.h5,--augment,blur|'augment'|2"
  "cv,--dataset,x.h5,--lr,-1|'lr' must be > 0|2"
  "train,--lr,0.1|'dataset' is required|2"
  "train,--config,${WORK}/bad-key.json|unknown key 'learning_rate'|2"
  "train,--config,${WORK}/bad-type.json|'epochs' has the wrong type|2"
  "train,--epochs,two|--epochs|2"
  "train,--dataset,x.h5,--checkpoint-minutes,-5|--checkpoint-minutes|2"
  "train,--dataset,x.h5,--checkpoint-minutes,soon|--checkpoint-minutes|2"
  "train,--dataset,x.h5,--checkpoint-steps,-1|--checkpoint-steps|2"
  "train,--config,${WORK}/bad-minutes.json|'checkpoint_minutes' must be >= 0|2"
  "train,--config,${WORK}/huge-int.json|key 'batch_size' must be an integer|2"
  "eval|either --run RUN_DIR or --cv CV_DIR|2"
  "augment,--policy,blur|blur|2"
  "train,--dataset,x.h5,--augment,twirl|'augment' is 'twirl': augment policy: unknown transformation|2"
  "train,--dataset,x.h5,--val-fraction,0.7|'val_fraction' must be in [0, 0.5]|2"
  "train,--dataset,/nonexistent/x.h5|/nonexistent/x.h5|1")
foreach(case ${cases})
  string(REPLACE "|" ";" parts "${case}")  # command words are separated by commas
  list(GET parts -1 want_rc)
  list(GET parts -2 want_text)
  list(REMOVE_AT parts -1)
  list(REMOVE_AT parts -1)
  string(REPLACE "," ";" args "${parts}")
  execute_process(COMMAND ${CMT} ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL want_rc)
    message(FATAL_ERROR "cmt ${args}: exit ${rc}, want ${want_rc}; stderr: ${err}")
  endif()
  string(FIND "${err}" "${want_text}" pos)
  if(pos EQUAL -1)
    message(FATAL_ERROR "cmt ${args}: the message does not say '${want_text}': ${err}")
  endif()
  message(STATUS "cmt ${args} -> ${rc}: ${err}")
endforeach()
